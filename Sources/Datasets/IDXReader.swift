/// Reads IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic (two zero bytes, the
/// element type, the number of dimensions), one big-endian UInt32 per dimension, then the data.
/// Files may be gzip-compressed (detected by content, not by name).
///
/// Only unsigned bytes (type 0x08) are supported: every dataset in the format uses them, and the
/// other types are rejected by name. Data must end exactly where the header says.
public enum IDXReader {
    public static func read(path: String) throws -> (shape: [Int], bytes: [UInt8]) {
        try parse(try loadBytes(path: path), source: path)
    }

    /// Parses the (already decompressed) contents of an IDX file; `source` names it in errors.
    public static func parse(_ file: [UInt8], source: String) throws -> (shape: [Int], bytes: [UInt8]) {
        guard !file.isEmpty else { throw DataError(source, "empty file, expected an IDX file") }
        guard file.count >= 4 else {
            throw DataError(source, "truncated: \(file.count) bytes, expected at least the 4-byte IDX magic")
        }
        guard file[0] == 0, file[1] == 0 else {
            throw DataError(source, "wrong magic: expected an IDX file starting 00 00, found \(hex(file.prefix(4)))")
        }
        let type = file[2]
        guard type == 0x08 else {
            if let name = otherTypes[type] {
                throw DataError(source, "unsupported IDX element type 0x\(hex([type])) (\(name)); only 0x08 (unsigned byte) is supported")
            }
            throw DataError(source, "wrong magic: unknown IDX element type 0x\(hex([type])) in \(hex(file.prefix(4)))")
        }
        let rank = Int(file[3])
        guard rank >= 1 else { throw DataError(source, "wrong dimensions: IDX header declares 0 dimensions") }
        let headerLength = 4 + 4 * rank
        guard file.count >= headerLength else {
            throw DataError(source, "truncated: header of \(rank) dimensions needs \(headerLength) bytes, file has \(file.count)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(rank)
        for d in 0..<rank {
            let o = 4 + 4 * d
            shape.append(Int(file[o]) << 24 | Int(file[o + 1]) << 16 | Int(file[o + 2]) << 8 | Int(file[o + 3]))
        }
        let expected = try CheckedSize.product(shape, source: source, what: "IDX shape")
        let found = file.count - headerLength
        guard found >= expected else {
            throw DataError(source, "truncated: header declares \(shape.shapeText) = \(expected) bytes of data, found \(found)")
        }
        guard found == expected else {
            throw DataError(source, "\(found - expected) unexpected bytes after the \(expected) bytes of data declared by the header (\(shape.shapeText))")
        }
        return (shape, Array(file[headerLength...]))
    }

    /// The file's bytes, decompressed when they are gzip.
    static func loadBytes(path: String) throws -> [UInt8] {
        let raw = try FileBytes.read(path: path)
        guard !raw.isEmpty else { throw DataError(path, "empty file, expected an IDX file") }
        return Gzip.isGzip(raw) ? try Gzip.decompress(raw, source: path, declaredSize: { try declaredSize($0, source: path) }) : raw
    }

    /// The whole file's size as its header declares it, once `prefix` holds the header; nil
    /// before. A magic that is not IDX's throws `parse`'s error at once.
    static func declaredSize(_ prefix: [UInt8], source: String) throws -> Int? {
        guard prefix.count >= 4 else { return nil }
        guard prefix[0] == 0, prefix[1] == 0, prefix[2] == 0x08, prefix[3] >= 1 else {
            _ = try parse(Array(prefix.prefix(4)), source: source)
            return nil
        }
        let rank = Int(prefix[3])
        let headerLength = 4 + 4 * rank
        guard prefix.count >= headerLength else { return nil }
        let shape = (0..<rank).map { d -> Int in
            let o = 4 + 4 * d
            return Int(prefix[o]) << 24 | Int(prefix[o + 1]) << 16 | Int(prefix[o + 2]) << 8 | Int(prefix[o + 3])
        }
        let (total, overflow) = try CheckedSize.product(shape, source: source, what: "IDX shape").addingReportingOverflow(headerLength)
        guard !overflow else { throw DataError(source, "IDX shape \(shape.shapeText) is too large to address") }
        return total
    }

    private static let otherTypes: [UInt8: String] = [
        0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
    ]
}

func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    bytes.map { b in
        let digits = String(b, radix: 16)
        return b < 16 ? "0" + digits : digits
    }.joined(separator: " ")
}
