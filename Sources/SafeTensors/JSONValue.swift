/// A parsed JSON value that keeps what a strict header check needs: object members in file order
/// (duplicates are rejected while parsing), numbers as their literal text (so "1.0", "1e3" and
/// "-0" can be told from integers), and where each string's contents sit in the header bytes.
indirect enum JSONValue {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    /// `raw` is the byte range between the quotes, escapes undecoded.
    case string(String, raw: Range<Int>)
    case number(JSONNumber)
    case bool(Bool)
    case null

    /// Used in messages: what kind of value was found where another was expected.
    var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string(let s, _): return "the string " + s.quotedForMessage
        case .number(let n): return "the number " + n.text
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

struct JSONNumber {
    /// The literal as written, e.g. "12", "-3", "2.5e3".
    let text: String
    /// No sign, fraction or exponent: a plain run of digits.
    let isNonNegativeInteger: Bool

    /// The value when it is a non-negative integer that fits in Int.
    var nonNegativeInt: Int? {
        guard isNonNegativeInteger else { return nil }
        var value = 0
        for c in text.utf8 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
        }
        return value
    }
}

struct JSONSyntaxError: Error {
    let offset: Int
    let message: String
}
