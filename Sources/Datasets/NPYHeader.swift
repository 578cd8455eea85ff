/// The header of a `.npy` file: a Python dict literal with exactly the keys `descr`,
/// `fortran_order` and `shape`. Parsed strictly by a small recursive-descent reader: anything
/// that is not this literal grammar (other keys, structured dtypes, expressions) is an error.
struct NPYHeader {
    let descr: String
    let fortranOrder: Bool
    let shape: [Int]

    private enum Value {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    static func parse(_ text: ArraySlice<UInt8>, source: String) throws -> NPYHeader {
        var parser = Parser(bytes: text, source: source)
        let dict = try parser.parseDict()
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.fail("unexpected text after the header dict") }

        guard case .string(let descr)? = dict["descr"] else {
            if dict["descr"] == nil { throw DataError(source, "NPY header has no 'descr' key") }
            throw DataError(source, "NPY header 'descr' is not a simple type string (structured dtypes are not supported)")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw DataError(source, "NPY header needs 'fortran_order': True or False")
        }
        guard case .tuple(let shape)? = dict["shape"] else {
            throw DataError(source, "NPY header needs 'shape' as a tuple of integers")
        }
        for key in dict.keys where !["descr", "fortran_order", "shape"].contains(key) {
            throw DataError(source, "NPY header has unexpected key '\(key)'")
        }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }

    private struct Parser {
        let bytes: ArraySlice<UInt8>
        let source: String
        var i: Int

        init(bytes: ArraySlice<UInt8>, source: String) {
            self.bytes = bytes
            self.source = source
            self.i = bytes.startIndex
        }

        var atEnd: Bool { i >= bytes.endIndex }

        func fail(_ what: String) -> DataError {
            DataError(source, "malformed NPY header: \(what) at header offset \(i - bytes.startIndex)")
        }

        mutating func skipWhitespace() {
            while i < bytes.endIndex, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x09 || bytes[i] == 0x0D { i += 1 }
        }

        mutating func expect(_ c: UInt8) throws {
            skipWhitespace()
            guard i < bytes.endIndex, bytes[i] == c else {
                throw fail("expected '\(Character(Unicode.Scalar(c)))'")
            }
            i += 1
        }

        mutating func peek() -> UInt8? {
            skipWhitespace()
            return i < bytes.endIndex ? bytes[i] : nil
        }

        mutating func parseDict() throws -> [String: Value] {
            try expect(UInt8(ascii: "{"))
            var dict: [String: Value] = [:]
            while true {
                if peek() == UInt8(ascii: "}") { i += 1; return dict }
                let key = try parseString()
                try expect(UInt8(ascii: ":"))
                let value = try parseValue()
                guard dict[key] == nil else { throw fail("duplicate key '\(key)'") }
                dict[key] = value
                switch peek() {
                case UInt8(ascii: ","): i += 1
                case UInt8(ascii: "}"): i += 1; return dict
                default: throw fail("expected ',' or '}'")
                }
            }
        }

        mutating func parseValue() throws -> Value {
            switch peek() {
            case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "("): return .tuple(try parseTuple())
            case UInt8(ascii: "T"), UInt8(ascii: "F"):
                if try parseWord("True") { return .bool(true) }
                if try parseWord("False") { return .bool(false) }
                throw fail("expected True or False")
            default:
                throw fail("expected a string, True, False or a tuple")
            }
        }

        mutating func parseWord(_ word: String) throws -> Bool {
            let w = Array(word.utf8)
            guard bytes.endIndex - i >= w.count, Array(bytes[i..<i + w.count]) == w else { return false }
            i += w.count
            return true
        }

        mutating func parseString() throws -> String {
            skipWhitespace()
            guard i < bytes.endIndex, bytes[i] == UInt8(ascii: "'") || bytes[i] == UInt8(ascii: "\"") else {
                throw fail("expected a quoted string")
            }
            let quote = bytes[i]
            i += 1
            let start = i
            while i < bytes.endIndex, bytes[i] != quote {
                // numpy never writes escapes or control characters in these strings.
                guard bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 else { throw fail("unsupported character in string") }
                i += 1
            }
            guard i < bytes.endIndex else { throw fail("unterminated string") }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            i += 1
            return text
        }

        /// `()`, `(n,)`, `(a, b)` or `(a, b,)`: a one-element tuple needs its comma, as in Python.
        mutating func parseTuple() throws -> [Int] {
            try expect(UInt8(ascii: "("))
            var values: [Int] = []
            var sawComma = false
            while true {
                if peek() == UInt8(ascii: ")") {
                    i += 1
                    guard values.count != 1 || sawComma else { throw fail("shape (n) is not a tuple; expected (n,)") }
                    return values
                }
                values.append(try parseInteger())
                switch peek() {
                case UInt8(ascii: ","): i += 1; sawComma = true
                case UInt8(ascii: ")"): continue
                default: throw fail("expected ',' or ')' in shape")
                }
            }
        }

        mutating func parseInteger() throws -> Int {
            skipWhitespace()
            var value = 0
            var digits = 0
            while i < bytes.endIndex, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(bytes[i] - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw fail("shape dimension too large") }
                value = sum
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw fail("expected a non-negative integer in shape") }
            return value
        }
    }
}
