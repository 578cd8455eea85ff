/// Writes `.npy` files that numpy loads: version 1.0 (2.0 when the header would not fit 64 KiB),
/// C order, little-endian, header padded with spaces and a newline so the data starts at a
/// multiple of 64 bytes, as numpy itself writes them. The file appears atomically (temp + rename).
public enum NPYWriter {
    public static func write<T: NPYElement>(_ values: [T], shape: [Int], to path: String) throws {
        try values.withUnsafeBufferPointer { try write($0, shape: shape, to: path) }
    }

    public static func write<T: NPYElement>(_ values: UnsafeBufferPointer<T>, shape: [Int], to path: String) throws {
        let header = try preamble(descr: T.npyDescr, shape: shape, count: values.count, source: path)
        try header.withUnsafeBytes { headerBytes in
            try FileBytes.writeAtomically(path: path, parts: [headerBytes, UnsafeRawBufferPointer(values)])
        }
    }

    /// The whole file in memory, for callers that embed or checksum it.
    public static func encode<T: NPYElement>(_ values: [T], shape: [Int]) throws -> [UInt8] {
        var bytes = try preamble(descr: T.npyDescr, shape: shape, count: values.count, source: "npy")
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Magic, version, header length and the padded header dict.
    static func preamble(descr: String, shape: [Int], count: Int, source: String) throws -> [UInt8] {
        let product = try CheckedSize.product(shape, source: source, what: "NPY shape")
        guard product == count else {
            throw DataError(source, "cannot write NPY: shape \(shape.shapeText) holds \(product) values, given \(count)")
        }
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)

        for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let fixed = NPYReader.magic.count + 2 + lengthBytes
            // Pad with spaces so that fixed + dict + padding + "\n" is a multiple of 64.
            let unpadded = fixed + dict.count + 1
            let total = (unpadded + 63) / 64 * 64
            let headerLength = total - fixed
            guard lengthBytes == 4 || headerLength <= Int(UInt16.max) else { continue }
            var out = NPYReader.magic + [major, 0]
            for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: headerLength >> (8 * k))) }
            out += dict
            out += [UInt8](repeating: 0x20, count: total - unpadded)
            out.append(0x0A)
            return out
        }
        throw DataError(source, "cannot write NPY: header too large")
    }
}
