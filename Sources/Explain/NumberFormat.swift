import Foundation

/// Short, locale-independent renderings of numbers for charts, tables and CSV.
enum NumberFormat {
    /// Fixed decimals; non-finite values spelled the way numpy and spreadsheets read them.
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return String(format: "%.\(decimals)f", v)
    }

    /// Enough significant digits to round-trip a Float (for CSV).
    static func float(_ v: Float) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return String(format: "%.9g", Double(v))
    }

    static func double(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return String(format: "%.17g", v)
    }

    /// A compact label for an axis tick.
    static func tick(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e4 || a < 1e-3 { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        if a >= 10 { return String(format: "%.1f", v) }
        if a >= 1 { return String(format: "%.2f", v) }
        return String(format: "%.3f", v)
    }
}
