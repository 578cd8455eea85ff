#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric CSV table: feature values row-major, and the `label` column apart when there is one.
public struct CSVTable {
    public let rows: Int
    /// Feature columns (the label column is not counted).
    public let cols: Int
    /// rows x cols feature values, row-major.
    public let values: [Float]
    /// Names of the feature columns when the file has a header row.
    public let columnNames: [String]?
    /// The column named `label` (case-insensitive) in the header, as integers.
    public let labels: [Int32]?
}

/// Reads numeric CSV: comma-separated, one sample per line, every field a finite number.
///
/// The first non-blank line is a header when any of its fields is not a number; a header column
/// named `label` becomes integer labels. Blank lines are skipped; a UTF-8 byte-order mark and
/// `\r\n` line ends are accepted; fields may be wrapped in double quotes. Errors name the line and
/// column (both 1-based, counted in the file as an editor shows it).
public enum CSVReader {
    /// Feature values only (a `label` column is left out); see `readTable` for labels and names.
    public static func read(path: String) throws -> (rows: Int, cols: Int, values: [Float]) {
        let table = try readTable(path: path)
        return (table.rows, table.cols, table.values)
    }

    public static func readTable(path: String) throws -> CSVTable {
        try parse(try FileBytes.read(path: path), source: path)
    }

    public static func parse(_ file: [UInt8], source: String) throws -> CSVTable {
        var text = file
        // strtof needs a terminator after the last field; the zero byte also ends the last line.
        text.append(0)
        return try text.withUnsafeBufferPointer { try Parser(bytes: $0, source: source).run() }
    }

    private struct Field {
        var start: Int
        var end: Int
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>   // ends with a 0 byte
        let source: String

        func run() throws -> CSVTable {
            let end = bytes.count - 1
            var position = 0
            if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }

            var lineNumber = 0
            var fields: [Field] = []
            var width = -1                   // fields per line, fixed by the first line
            var header: [String]? = nil
            var labelColumn = -1
            var values: [Float] = []
            var labels: [Int32] = []
            var rows = 0

            while position < end {
                lineNumber += 1
                var lineEnd = position
                while lineEnd < end, bytes[lineEnd] != 0x0A { lineEnd += 1 }
                defer { position = lineEnd + 1 }
                split(position, lineEnd, into: &fields)
                if fields.count == 1 && fields[0].start == fields[0].end { continue }   // blank line

                if width < 0 {
                    width = fields.count
                    // A header names its columns: an empty field is a missing value, not a name,
                    // so a first row like "1,,3" is data (and its empty field an error below).
                    if fields.contains(where: { $0.start != $0.end && !looksNumeric($0) }) {
                        let names = fields.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0.start..<$0.end]), as: UTF8.self) }
                        let labelIndices = names.indices.filter { names[$0].lowercased() == "label" }
                        guard labelIndices.count <= 1 else {
                            throw DataError(source, "line \(lineNumber): \(labelIndices.count) columns named 'label', expected at most one")
                        }
                        labelColumn = labelIndices.first ?? -1
                        header = names
                        let featureCount = width - (labelColumn >= 0 ? 1 : 0)
                        guard featureCount > 0 else {
                            throw DataError(source, "line \(lineNumber): header has no feature columns besides 'label'")
                        }
                        let lines = estimateLines(from: lineEnd)
                        values.reserveCapacity(lines * featureCount)
                        if labelColumn >= 0 { labels.reserveCapacity(lines) }
                        continue
                    }
                    values.reserveCapacity(estimateLines(from: position) * width)
                }
                guard fields.count == width else {
                    throw DataError(source, "line \(lineNumber): \(fields.count) fields, expected \(width) like the \(header == nil ? "first row" : "header") (ragged rows)")
                }
                for (column, field) in fields.enumerated() {
                    if column == labelColumn {
                        labels.append(try label(field, line: lineNumber, column: column + 1))
                    } else {
                        values.append(try number(field, line: lineNumber, column: column + 1))
                    }
                }
                rows += 1
            }

            if width < 0 { throw DataError(source, "empty file, expected numeric CSV rows") }
            guard rows > 0 else { throw DataError(source, "no data rows after the header line") }
            let cols = width - (labelColumn >= 0 ? 1 : 0)
            var names = header
            if labelColumn >= 0 { names?.remove(at: labelColumn) }
            return CSVTable(rows: rows, cols: cols, values: values, columnNames: names,
                            labels: labelColumn >= 0 ? labels : nil)
        }

        /// Fields of one line, trimmed of blanks, `\r` and surrounding double quotes.
        func split(_ start: Int, _ end: Int, into fields: inout [Field]) {
            fields.removeAll(keepingCapacity: true)
            var fieldStart = start
            var i = start
            while true {
                if i == end || bytes[i] == UInt8(ascii: ",") {
                    fields.append(trim(Field(start: fieldStart, end: i)))
                    if i == end { return }
                    fieldStart = i + 1
                }
                i += 1
            }
        }

        func trim(_ f: Field) -> Field {
            var s = f.start, e = f.end
            while s < e, isBlank(bytes[s]) { s += 1 }
            while e > s, isBlank(bytes[e - 1]) { e -= 1 }
            if e - s >= 2, bytes[s] == UInt8(ascii: "\""), bytes[e - 1] == UInt8(ascii: "\"") {
                s += 1; e -= 1
                while s < e, isBlank(bytes[s]) { s += 1 }
                while e > s, isBlank(bytes[e - 1]) { e -= 1 }
            }
            return Field(start: s, end: e)
        }

        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

        /// Upper bound on the lines left, to size the arrays once.
        func estimateLines(from start: Int) -> Int {
            var n = 1
            for i in start..<(bytes.count - 1) where bytes[i] == 0x0A { n += 1 }
            return n
        }

        /// Whether strtof accepts the whole field (NaN and infinity count as numbers here, so a
        /// row of them is data, and rejected as such, not mistaken for a header).
        func looksNumeric(_ f: Field) -> Bool {
            guard f.start < f.end else { return false }
            var endPointer: UnsafeMutablePointer<CChar>? = nil
            let start = UnsafeMutableRawPointer(mutating: bytes.baseAddress! + f.start).assumingMemoryBound(to: CChar.self)
            _ = strtof(start, &endPointer)
            return endPointer.map { UnsafeRawPointer($0) - UnsafeRawPointer(bytes.baseAddress!) } == f.end
        }

        func number(_ f: Field, line: Int, column: Int) throws -> Float {
            guard f.start < f.end else {
                throw DataError(source, "line \(line), column \(column): empty field, expected a number")
            }
            var endPointer: UnsafeMutablePointer<CChar>? = nil
            let start = UnsafeMutableRawPointer(mutating: bytes.baseAddress! + f.start).assumingMemoryBound(to: CChar.self)
            let value = strtof(start, &endPointer)
            let consumed = endPointer.map { UnsafeRawPointer($0) - UnsafeRawPointer(bytes.baseAddress!) } ?? f.start
            guard consumed == f.end else {
                throw DataError(source, "line \(line), column \(column): '\(text(f))' is not a number")
            }
            if value.isNaN {
                throw DataError(source, "line \(line), column \(column): NaN is not allowed, expected a finite number")
            }
            if value.isInfinite {
                let literal = text(f).lowercased().contains("inf")
                throw DataError(source, "line \(line), column \(column): \(literal ? "infinity is not allowed" : "'\(text(f))' overflows Float"), expected a finite number")
            }
            return value
        }

        /// Labels are read as integers, not through Float, which cannot hold every Int32.
        func label(_ f: Field, line: Int, column: Int) throws -> Int32 {
            var digits = text(f).trimmingCharacters(in: .whitespaces)
            // "3.0" is how some tools write an integer column.
            if let dot = digits.firstIndex(of: "."), digits[digits.index(after: dot)...].allSatisfy({ $0 == "0" }) {
                digits = String(digits[..<dot])
            }
            guard f.end - f.start <= 40, let value = Int32(digits), value >= 0 else {
                throw DataError(source, "line \(line), column \(column): label '\(text(f))' is not a non-negative integer")
            }
            return value
        }

        func text(_ f: Field) -> String {
            let shown = min(f.end - f.start, 40)
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[f.start..<f.start + shown]), as: UTF8.self)
        }
    }
}
