public struct RGB: Equatable, Hashable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    /// "#rrggbb" for SVG and CSS.
    public var hex: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] { s.append(digits[Int(v >> 4)]); s.append(digits[Int(v & 15)]) }
        return s
    }
}

public enum Colormap {
    static let negative = (r: Float(33), g: Float(102), b: Float(172))   // blue end
    static let positive = (r: Float(178), g: Float(24), b: Float(43))    // red end

    /// Blue (-1) through white (0) to red (+1); input clamped, NaN maps to white. Attributions
    /// are signed, and white for "no effect" keeps the eye on the pixels that matter.
    public static func diverging(_ t: Float) -> RGB {
        guard t.isFinite else { return RGB(255, 255, 255) }
        let u = max(-1, min(1, t))
        let end = u < 0 ? negative : positive
        let a = abs(u)
        func mix(_ e: Float) -> UInt8 { UInt8((255 + (e - 255) * a).rounded()) }
        return RGB(mix(end.r), mix(end.g), mix(end.b))
    }

    /// Ten colours that stay distinguishable from each other on white; class k uses entry k mod 10.
    public static let qualitative: [RGB] = [
        RGB(0x1f, 0x6f, 0xb4), RGB(0xf2, 0x8a, 0x1c), RGB(0x2e, 0x9e, 0x3f), RGB(0xd6, 0x2c, 0x2f),
        RGB(0x8c, 0x5f, 0xbf), RGB(0x8a, 0x56, 0x4b), RGB(0xe0, 0x70, 0xc0), RGB(0x6e, 0x6e, 0x6e),
        RGB(0xb5, 0xb8, 0x1e), RGB(0x1b, 0xbc, 0xcf),
    ]

    public static func classColour(_ label: Int) -> RGB {
        qualitative[((label % 10) + 10) % 10]
    }
}
