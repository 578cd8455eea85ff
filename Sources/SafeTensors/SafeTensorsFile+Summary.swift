extension SafeTensorsFile {
    /// A listing for `mpivae inspect`: every tensor with dtype, shape and byte size, the metadata
    /// (long values shortened to `maxValueLength` characters), and whether the checksums hold.
    /// Verifies the data checksum, so it costs one pass over the data, unless the caller passes
    /// the report it already has.
    public func summary(maxValueLength: Int = 160, checksums: ChecksumReport? = nil) -> String {
        let report = checksums ?? verifyChecksums()
        var lines: [String] = []
        lines.append("\(source): \(tensors.count) tensors, \(Self.grouped(tensorElementTotal)) elements, header \(Self.grouped(headerLength)) bytes, data \(Self.grouped(dataLength)) bytes")
        let nameWidth = min(48, tensors.map { $0.name.count }.max() ?? 0)
        let shapeWidth = tensors.map { Self.shapeText($0.shape).count }.max() ?? 0
        lines.append("tensors:")
        for t in tensors {
            let name = t.name.replacingNewlines()
            lines.append("  " + Self.pad(name, nameWidth) + "  " + Self.pad(t.dtype.rawValue, 7)
                         + Self.pad(Self.shapeText(t.shape), shapeWidth) + "  " + Self.grouped(t.byteCount) + " bytes")
        }
        lines.append(metadata.isEmpty ? "metadata: none" : "metadata:")
        for key in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            var value = metadata[key]!.replacingNewlines()
            if value.count > maxValueLength { value = String(value.prefix(maxValueLength)) + "… (\(metadata[key]!.utf8.count) bytes)" }
            lines.append("  \(key.replacingNewlines()) = \(value)")
        }
        lines.append("checksum: \(Checksum.dataKey) \(report.data.description), \(Checksum.headerKey) \(report.header.description)")
        return lines.joined(separator: "\n")
    }

    private var tensorElementTotal: Int { tensors.reduce(0) { $0 &+ $1.elementCount } }

    static func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// 1234567 -> "1,234,567"
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return n < 0 ? "-" + out : out
    }
}
