/// What the checksums stored in a file's metadata say about it.
public enum ChecksumState: Equatable, Sendable {
    /// Stored and recomputed values agree.
    case verified(UInt32)
    /// The bytes changed after the checksum was written.
    case mismatch(stored: UInt32, computed: UInt32)
    /// The metadata has no such checksum (e.g. a file written by another tool).
    case absent
    /// The metadata has the key but its value is not 8 lowercase hex digits.
    case malformed(String)

    public var isVerified: Bool { if case .verified = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .verified(let c): return "ok (\(Checksum.hex(c)))"
        case .mismatch(let s, let c): return "FAILED (stored \(Checksum.hex(s)), computed \(Checksum.hex(c)))"
        case .absent: return "absent"
        case .malformed(let why): return "FAILED (\(why))"
        }
    }
}

/// Both checksums of a file: over the data section and over the JSON header.
public struct ChecksumReport: Equatable, Sendable, CustomStringConvertible {
    public let data: ChecksumState
    public let header: ChecksumState

    /// Both present and both hold.
    public var allVerified: Bool { data.isVerified && header.isVerified }
    /// Some checksum is present and does not hold (absent ones are not failures here).
    public var anyFailed: Bool {
        [data, header].contains { if case .mismatch = $0 { return true }; if case .malformed = $0 { return true }; return false }
    }

    public var description: String { "data \(data.description), header \(header.description)" }
}
