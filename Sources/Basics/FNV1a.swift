/// FNV-1a, the one hash the project uses where values must agree across processes and machines
/// (Swift's `Hasher` is seeded per process): rank agreement on settings, data fingerprints,
/// replica checksums. Each caller feeds it bytes or 64-bit words.
public struct FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public private(set) var value: UInt64

    public init(value: UInt64 = FNV1a.offsetBasis) { self.value = value }

    /// One FNV-1a step: xor in the unit, multiply by the prime. Callers that hash whole words or
    /// several lanes use it directly in their loops.
    @inline(__always)
    public static func step(_ hash: UInt64, _ unit: UInt64) -> UInt64 { (hash ^ unit) &* prime }

    public mutating func add(byte: UInt8) { value = Self.step(value, UInt64(byte)) }

    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 {
        var h = value
        for b in bytes { h = Self.step(h, UInt64(b)) }
        value = h
    }

    /// FNV-1a over the UTF-8 of `text`.
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a()
        h.add(bytes: text.utf8)
        return h.value
    }
}
