/// Whole-array bf16 conversions and the bf16 sum: plain loops over `HalfFloat`'s conversions,
/// which the loop vectorizer turns into vector code now that `toBF16` has no branch (the
/// element-by-element loops with the branch ran at 2-6 ns an element, on the 4.4 MB arena about
/// what halving the bytes saved). Swift's SIMD comparisons were tried first: they compile to a
/// loop over the lanes.
public enum BF16Arrays {
    /// out[i] = bf16(x[i]), round to nearest even.
    public static func pack(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { out[i] = HalfFloat.toBF16(x[i]) }
    }

    /// x[i] = fp32 of h[i] (exact).
    public static func unpack(_ h: UnsafePointer<UInt16>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = HalfFloat.fromBF16(h[i]) }
    }

    /// b[i] = bf16(fp32(a[i]) + fp32(b[i])): the reduction MPI applies to each received segment.
    public static func add(_ a: UnsafePointer<UInt16>, into b: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { b[i] = HalfFloat.toBF16(HalfFloat.fromBF16(a[i]) + HalfFloat.fromBF16(b[i])) }
    }
}
