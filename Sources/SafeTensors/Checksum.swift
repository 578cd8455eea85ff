/// CRC-32 as in zlib, gzip and PNG (reflected polynomial 0xEDB88320, initial and final value
/// 0xFFFFFFFF), so any reader can verify it: Python's `zlib.crc32(data)` gives the same number.
/// Slicing-by-8 folds eight bytes per step through eight 256-entry tables, which runs at well
/// over 1 GB/s in release builds: a checkpoint is checksummed in a few milliseconds.
public enum Checksum {
    /// Metadata key under which checkpoints keep the CRC-32 of the data section (8 lowercase hex digits).
    public static let dataKey = "data_crc32"
    /// Metadata key under which checkpoints keep the CRC-32 of the JSON header: all N header bytes
    /// (padding included) except the 8 hex digits of this value itself.
    public static let headerKey = "header_crc32"

    /// CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before them; 0 to start).
    public static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return ~update(~crc, base, bytes.count)
    }

    public static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, continuing: crc) }
    }

    /// The checksum as the metadata stores it: 8 lowercase hex digits.
    public static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Inverse of `hex`: exactly 8 lowercase hex digits, else nil.
    public static func parseHex(_ text: String) -> UInt32? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 8 else { return nil }
        var value: UInt32 = 0
        for c in utf8 {
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    // Table k (of 8, stored flat) gives a byte's contribution when k more bytes follow it in its
    // 8-byte block. Built once and kept for the life of the process.
    private static let tables: UnsafeMutablePointer<UInt32> = {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[n] = c
        }
        for n in 0..<256 {
            var c = t[n]
            for k in 1..<8 {
                c = t[Int(c & 0xFF)] ^ (c >> 8)
                t[k * 256 + n] = c
            }
        }
        return t
    }()

    private static func update(_ start: UInt32, _ base: UnsafeRawPointer, _ count: Int) -> UInt32 {
        let t = tables
        var c = start
        var p = base
        var n = count
        while n >= 8 {
            // Unaligned little-endian loads: the data may start anywhere, the host may be either endian.
            let lo = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let x = c ^ lo
            c = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
            p += 8
            n -= 8
        }
        while n > 0 {
            c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
            p += 1
            n -= 1
        }
        return c
    }
}
