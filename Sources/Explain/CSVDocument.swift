import Foundation

/// A CSV table (RFC 4180 quoting) written in one piece.
struct CSVDocument {
    let header: [String]
    private(set) var rows: [[String]] = []

    init(header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        var s = ""
        for row in [header] + rows { s += row.map(Self.quote).joined(separator: ",") + "\n" }
        return s
    }

    func write(to path: String) throws { try FileOutput.write(render(), to: path) }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
