/// Messages quote file contents, names and library errors, which may hold any byte: line breaks
/// and tabs become spaces and other control characters a visible `\xNN`, and NULs at the ends and
/// trailing spaces (C libraries pad their strings) are trimmed, so an error stays one readable
/// line of stderr and cannot move the terminal's cursor. Leading spaces stay: progress lines
/// indent with them.
public func oneLine(_ message: String) -> String {
    var out = ""
    out.unicodeScalars.reserveCapacity(message.unicodeScalars.count)
    for scalar in message.unicodeScalars {
        switch scalar.value {
        case 0x0A, 0x0D, 0x09: out.unicodeScalars.append(" ")
        case 0: out.unicodeScalars.append("\0")   // trimmed below at the ends, escaped inside
        case 0..<0x20, 0x7F:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out += "\\x" + String(repeating: "0", count: max(0, 2 - hex.count)) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    var trimmed = Substring(out)
    while let c = trimmed.first, c == "\0" { trimmed.removeFirst() }
    while let c = trimmed.last, c == " " || c == "\0" { trimmed.removeLast() }
    var result = ""
    result.unicodeScalars.reserveCapacity(trimmed.unicodeScalars.count)
    for scalar in trimmed.unicodeScalars {
        if scalar.value == 0 { result += "\\x00" } else { result.unicodeScalars.append(scalar) }
    }
    return result
}
