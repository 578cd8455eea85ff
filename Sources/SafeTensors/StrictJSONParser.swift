/// An RFC 8259 parser, strict where Foundation's JSONSerialization is lenient: it rejects
/// duplicate object keys, lone UTF-16 surrogates in escapes, control characters in strings,
/// leading zeros, and anything after the value other than whitespace; it keeps numbers as text
/// instead of converting them to Double. Nesting is capped so hostile input cannot exhaust the stack.
struct StrictJSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    /// Parses one JSON value filling `bytes` up to trailing whitespace. `bytes` must be valid UTF-8.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var parser = StrictJSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.i != bytes.count {
            throw JSONSyntaxError(offset: parser.i, message: "unexpected \(parser.describeByte()) after the JSON value")
        }
        return value
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func describeByte() -> String {
        guard i < bytes.count else { return "end of header" }
        let b = bytes[i]
        if b >= 0x21 && b < 0x7F { return "'\(Character(UnicodeScalar(b)))'" }
        return "byte 0x" + String(b, radix: 16)
    }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, message: message) }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard i < bytes.count else { throw fail("header ends where a value was expected") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            let (s, raw) = try parseString()
            return .string(s, raw: raw)
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected \(describeByte()) where a value was expected")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("truncated literal") }
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for k in 0..<n where bytes[i + k] != w[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth) levels") }
        i += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw fail("expected a string key, found \(describeByte())")
            }
            let keyOffset = i
            let (key, _) = try parseString()
            // Swift compares Strings by canonical equivalence, so keys that differ only in Unicode
            // normalization count as duplicates too: a [String: …] could not keep both.
            if !seen.insert(key).inserted {
                throw JSONSyntaxError(offset: keyOffset, message: "duplicate key " + key.quotedForMessage)
            }
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key, found \(describeByte())") }
            i += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            guard i < bytes.count else { throw fail("header ends inside an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw fail("expected ',' or '}' in an object, found \(describeByte())")
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth) levels") }
        i += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard i < bytes.count else { throw fail("header ends inside an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
            throw fail("expected ',' or ']' in an array, found \(describeByte())")
        }
    }

    private mutating func parseNumber() throws -> JSONNumber {
        let start = i
        var plain = true
        if bytes[i] == UInt8(ascii: "-") { plain = false; i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw fail("a number needs a digit here") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count && isDigit(bytes[i]) { throw fail("leading zero in a number") }
        } else {
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            plain = false
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("a fraction needs a digit here") }
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            plain = false
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("an exponent needs a digit here") }
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        return JSONNumber(text: text, isNonNegativeInteger: plain)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// Parses a string starting at its opening quote; returns it and the range of its raw contents.
    private mutating func parseString() throws -> (String, Range<Int>) {
        i += 1  // opening quote
        let start = i
        var decoded: [UInt8]? = nil  // only built once an escape shows up
        while true {
            guard i < bytes.count else { throw JSONSyntaxError(offset: start - 1, message: "unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let raw = start..<i
                i += 1
                if let decoded { return (String(decoding: decoded, as: UTF8.self), raw) }
                return (String(decoding: UnsafeBufferPointer(rebasing: bytes[raw]), as: UTF8.self), raw)
            }
            if b < 0x20 { throw fail("control character 0x\(String(b, radix: 16)) inside a string") }
            if b != UInt8(ascii: "\\") {
                decoded?.append(b)
                i += 1
                continue
            }
            if decoded == nil { decoded = Array(bytes[start..<i]) }
            i += 1
            guard i < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded!.append(e)
            case UInt8(ascii: "b"): decoded!.append(0x08)
            case UInt8(ascii: "f"): decoded!.append(0x0C)
            case UInt8(ascii: "n"): decoded!.append(0x0A)
            case UInt8(ascii: "r"): decoded!.append(0x0D)
            case UInt8(ascii: "t"): decoded!.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone UTF-16 surrogate in a \\u escape")
                    }
                    i += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone UTF-16 surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("lone UTF-16 surrogate in a \\u escape")
                }
                appendUTF8(scalar, to: &decoded!)
            default:
                i -= 1
                throw fail("invalid escape \(describeByte())")
            }
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
        switch s {
        case 0..<0x80:
            out.append(UInt8(s))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (s >> 6))); out.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (s >> 12))); out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (s & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (s >> 18))); out.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((s >> 6) & 0x3F))); out.append(UInt8(0x80 | (s & 0x3F)))
        }
    }
}

/// Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code points past
/// U+10FFFF included), or nil when all of `bytes` is valid.
func firstInvalidUTF8Offset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    let n = bytes.count
    while i < n {
        let b = bytes[i]
        if b < 0x80 { i += 1; continue }
        let length: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
        switch b {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: return i
        }
        guard i + length <= n else { return i }
        let second = bytes[i + 1]
        guard second >= lo && second <= hi else { return i }
        for k in 2..<max(2, length) where bytes[i + k] & 0xC0 != 0x80 { return i }
        i += length
    }
    return nil
}
