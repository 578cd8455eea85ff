import CMPI

/// A sum over 16-bit floats for sending gradients in half the bytes: an MPI datatype of two bytes
/// and a user-defined reduction that widens both operands to fp32, adds, and rounds once back to
/// 16 bits (round to nearest even). Commutative, and the same bits on every rank for the same
/// operands, so replicas that receive one allreduce's result stay identical.
public final class HalfPrecisionSum {
    public enum Format: String, CaseIterable, Sendable {
        /// IEEE binary16: 10 mantissa bits, range ±65504; needs a scale against overflow.
        case fp16
        /// bfloat16: fp32's exponent range, 7 mantissa bits.
        case bf16
    }

    public let format: Format
    public let datatype: MPI_Datatype
    public let op: MPI_Op

    public init(_ format: Format) throws {
        self.format = format
        var type: MPI_Datatype? = nil
        try check(MPI_Type_contiguous(2, mpivae_uint8(), &type), "MPI_Type_contiguous")
        try check(MPI_Type_commit(&type), "MPI_Type_commit")
        var made: MPI_Op? = nil
        switch format {
        case .fp16: try check(MPI_Op_create({ a, b, n, _ in HalfPrecisionSum.addFP16(a, b, n) }, 1, &made), "MPI_Op_create")
        case .bf16: try check(MPI_Op_create({ a, b, n, _ in HalfPrecisionSum.addBF16(a, b, n) }, 1, &made), "MPI_Op_create")
        }
        datatype = type!
        op = made!
    }

    deinit {
        guard MPIRuntime.isInitialized else { return }
        var t: MPI_Datatype? = datatype
        _ = MPI_Type_free(&t)
        var o: MPI_Op? = op
        _ = MPI_Op_free(&o)
    }

    /// accumulator[i] = round16(widen(input[i]) + widen(accumulator[i])); one loop per format
    /// with the conversions inlined (MPI calls these on every received segment).
    static func addFP16(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int32>?) {
        guard let input, let accumulator, let count else { return }
        let a = input.assumingMemoryBound(to: UInt16.self), b = accumulator.assumingMemoryBound(to: UInt16.self)
        for i in 0..<Int(count.pointee) { b[i] = HalfFloat.toFP16(HalfFloat.fromFP16(a[i]) + HalfFloat.fromFP16(b[i])) }
    }

    static func addBF16(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int32>?) {
        guard let input, let accumulator, let count else { return }
        BF16Arrays.add(input.assumingMemoryBound(to: UInt16.self), into: accumulator.assumingMemoryBound(to: UInt16.self),
                       count: Int(count.pointee))
    }
}

/// Conversions between fp32 and the two 16-bit formats by bit arithmetic (no F16C needed), round
/// to nearest even. fp16 keeps subnormals; values past its range become infinity, which the step
/// then rejects as non-finite rather than using.
public enum HalfFloat {
    /// NaN is a select, not a branch, so loops over arrays of these vectorize (`BF16Arrays`).
    @inline(__always)
    public static func toBF16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        // A NaN keeps its sign and top payload bits and gets the quiet bit.
        let quiet = (bits &>> 16) | 0x40
        return UInt16(truncatingIfNeeded: (bits & 0x7FFF_FFFF) > 0x7F80_0000 ? quiet : rounded)
    }

    @inline(__always)
    public static func fromBF16(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    @inline(__always)
    public static func toFP16(_ x: Float) -> UInt16 {
        var f = x.bitPattern
        let sign = f & 0x8000_0000
        f ^= sign
        let out: UInt32
        if f >= (127 + 16) << 23 {
            out = f > 255 << 23 ? 0x7E00 : 0x7C00  // NaN : overflow to infinity
        } else if f < 113 << 23 {
            // Subnormal or zero: an fp32 add with a magic number does the rounding shift.
            let magic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
            out = (Float(bitPattern: f) + Float(bitPattern: magic)).bitPattern &- magic
        } else {
            let odd = (f >> 13) & 1
            f = f &+ (UInt32(bitPattern: Int32(15 - 127) << 23) &+ 0xFFF) &+ odd
            out = f >> 13
        }
        return UInt16(truncatingIfNeeded: out | (sign >> 16))
    }

    @inline(__always)
    public static func fromFP16(_ h: UInt16) -> Float {
        let shiftedExp: UInt32 = 0x7C00 << 13
        var o = (UInt32(h) & 0x7FFF) << 13
        let exp = shiftedExp & o
        o = o &+ ((127 - 15) << 23)
        if exp == shiftedExp {
            o = o &+ ((128 - 16) << 23)
        } else if exp == 0 {
            o = o &+ (1 << 23)
            o = (Float(bitPattern: o) - Float(bitPattern: 113 << 23)).bitPattern
        }
        return Float(bitPattern: o | ((UInt32(h) & 0x8000) << 16))
    }
}
