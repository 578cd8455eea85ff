/// SplitMix64 (Steele, Lea and Flood): a 64-bit counter through a strong mixing function. Used
/// keyed by (seed, purpose, index) so every permutation and synthetic sample is a pure function
/// of its key, independent of the number of ranks or the order of calls.
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator keyed by several words, each mixed in turn so nearby keys give unrelated streams.
    public init(keys: UInt64...) {
        var s: UInt64 = 0x6a09_e667_f3bc_c909
        for k in keys { s = SplitMix64.mix(s ^ SplitMix64.mix(k &+ 0x9e37_79b9_7f4a_7c15)) }
        state = s
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return SplitMix64.mix(state)
    }

    /// Uniform in 0..<bound without modulo bias (Lemire's multiply-and-reject).
    public mutating func next(below bound: UInt64) -> UInt64 {
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// Uniform in [0, 1) with 24 random bits, exactly representable as Float.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}
