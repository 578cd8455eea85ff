/// Whole-array bf16 conversions and the bf16 sum, written for the loop vectorizer.
///
/// `HalfFloat.toBF16` branches on NaN, which keeps its loops scalar (3-6 ns an element, on the
/// 4.4 MB arena about what halving the bytes saved). Here NaN is a select, so the loops below
/// vectorize; every element gets exactly the bits of `HalfFloat.toBF16` / `fromBF16` (tested), so
/// this changes no result. (Swift's SIMD comparisons were tried first: they compile to a loop
/// over the lanes.)
public enum BF16Arrays {
    @inline(__always)
    private static func round(_ bits: UInt32) -> UInt16 {
        let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        // A NaN keeps its sign and top payload bits and gets the quiet bit, as the scalar code.
        let quiet = (bits &>> 16) | 0x40
        return UInt16(truncatingIfNeeded: (bits & 0x7FFF_FFFF) > 0x7F80_0000 ? quiet : rounded)
    }

    /// out[i] = bf16(x[i]), round to nearest even.
    public static func pack(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt16>, count: Int) {
        let bits = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { out[i] = round(bits[i]) }
    }

    /// x[i] = fp32 of h[i] (exact).
    public static func unpack(_ h: UnsafePointer<UInt16>, into x: UnsafeMutablePointer<Float>, count: Int) {
        let bits = UnsafeMutableRawPointer(x).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { bits[i] = UInt32(h[i]) &<< 16 }
    }

    /// b[i] = bf16(fp32(a[i]) + fp32(b[i])): the reduction MPI applies to each received segment.
    public static func add(_ a: UnsafePointer<UInt16>, into b: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count {
            let sum = Float(bitPattern: UInt32(a[i]) &<< 16) + Float(bitPattern: UInt32(b[i]) &<< 16)
            b[i] = round(sum.bitPattern)
        }
    }
}
