/// Writes the JSON header the way this module always does, so equal inputs give equal bytes:
/// `__metadata__` first with keys in byte order, then tensors in the order they were added, each
/// as {"dtype","shape","data_offsets"}; no spaces; non-ASCII kept as UTF-8; padded with spaces to
/// a multiple of 8 so the data section starts 8-byte aligned.
enum HeaderEncoder {
    struct Encoded {
        var bytes: [UInt8]
        /// Where the 8 placeholder digits of `header_crc32` sit, when requested.
        var headerChecksumRange: Range<Int>?
    }

    static func encode(metadata: [String: String], tensors: [TensorEntry], headerChecksumPlaceholder: Bool) -> Encoded {
        var out: [UInt8] = []
        out.reserveCapacity(64 + 96 * tensors.count + metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        var checksumRange: Range<Int>?
        out.append(UInt8(ascii: "{"))
        var first = true
        if !metadata.isEmpty || headerChecksumPlaceholder {
            appendString(HeaderDecoder.metadataKey, to: &out)
            out.append(contentsOf: Array(":{".utf8))
            var keys = Array(metadata.keys.filter { !headerChecksumPlaceholder || $0 != Checksum.headerKey })
            if headerChecksumPlaceholder { keys.append(Checksum.headerKey) }
            keys.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if headerChecksumPlaceholder && key == Checksum.headerKey {
                    out.append(UInt8(ascii: "\""))
                    checksumRange = out.count..<(out.count + 8)
                    out.append(contentsOf: [UInt8](repeating: UInt8(ascii: "0"), count: 8))
                    out.append(UInt8(ascii: "\""))
                } else {
                    appendString(metadata[key] ?? "", to: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
            first = false
        }
        for t in tensors {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(t.name, to: &out)
            out.append(contentsOf: Array(":{\"dtype\":".utf8))
            appendString(t.dtype.rawValue, to: &out)
            out.append(contentsOf: Array(",\"shape\":[".utf8))
            out.append(contentsOf: Array(t.shape.map(String.init).joined(separator: ",").utf8))
            out.append(contentsOf: Array("],\"data_offsets\":[\(t.range.lowerBound),\(t.range.upperBound)]}".utf8))
        }
        out.append(UInt8(ascii: "}"))
        while out.count % 8 != 0 { out.append(UInt8(ascii: " ")) }
        return Encoded(bytes: out, headerChecksumRange: checksumRange)
    }

    /// JSON string literal: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
