/// An 8-bit image held row-major: `channels` is 1 (grey) or 3 (RGB).
public struct RasterImage: Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw ExplainError("image: expected positive dimensions, found \(width)x\(height)")
        }
        guard channels == 1 || channels == 3 else {
            throw ExplainError("image: expected 1 (grey) or 3 (RGB) channels, found \(channels)")
        }
        guard pixels.count == width * height * channels else {
            throw ExplainError(
                "image: expected \(width * height * channels) bytes for \(width)x\(height)x\(channels), found \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A canvas filled with one colour.
    public init(width: Int, height: Int, fill: RGB) {
        self.width = max(width, 1)
        self.height = max(height, 1)
        self.channels = 3
        var p = [UInt8](repeating: 0, count: self.width * self.height * 3)
        var i = 0
        while i < p.count {
            p[i] = fill.r; p[i + 1] = fill.g; p[i + 2] = fill.b
            i += 3
        }
        self.pixels = p
    }

    /// Grey image from intensities in [0, 1] (values outside are clamped; NaN shows black).
    public static func grey(unit values: [Float], width: Int, height: Int) throws -> RasterImage {
        guard values.count == width * height else {
            throw ExplainError("image: expected \(width * height) intensities for \(width)x\(height), found \(values.count)")
        }
        return try RasterImage(width: width, height: height, channels: 1, pixels: values.map(unitToByte))
    }

    /// Signed values through the blue-white-red map; `scale` is the magnitude shown fully
    /// saturated (defaults to the largest magnitude present, so every map uses its whole range).
    public static func diverging(_ values: [Float], width: Int, height: Int, scale: Float? = nil) throws -> RasterImage {
        guard values.count == width * height else {
            throw ExplainError("image: expected \(width * height) values for \(width)x\(height), found \(values.count)")
        }
        let s = scale ?? values.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
        var p = [UInt8]()
        p.reserveCapacity(values.count * 3)
        for v in values {
            let c = Colormap.diverging(s > 0 ? v / s : 0)
            p.append(c.r); p.append(c.g); p.append(c.b)
        }
        return try RasterImage(width: width, height: height, channels: 3, pixels: p)
    }

    /// Non-negative values through a white-to-red map scaled by their maximum.
    public static func heat(_ values: [Float], width: Int, height: Int) throws -> RasterImage {
        let top = values.reduce(0) { $1.isFinite ? max($0, $1) : $0 }
        return try diverging(values.map { max($0, 0) }, width: width, height: height, scale: top)
    }

    public func pixel(x: Int, y: Int) -> RGB {
        let o = (y * width + x) * channels
        if channels == 1 { return RGB(pixels[o], pixels[o], pixels[o]) }
        return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// The same picture with three channels, so grey and colour tiles can share a grid.
    public func rgb() -> RasterImage {
        if channels == 3 { return self }
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            p[3 * i] = pixels[i]; p[3 * i + 1] = pixels[i]; p[3 * i + 2] = pixels[i]
        }
        return RasterImage(unchecked: width, height, 3, p)
    }

    /// Nearest-neighbour enlargement: 28x28 tiles are too small to read on a screen.
    public func upscaled(by factor: Int) -> RasterImage {
        guard factor > 1 else { return self }
        let w = width * factor, h = height * factor
        var p = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h {
            let sy = y / factor
            for x in 0..<w {
                let s = (sy * width + x / factor) * channels
                let d = (y * w + x) * channels
                for c in 0..<channels { p[d + c] = pixels[s + c] }
            }
        }
        return RasterImage(unchecked: w, h, channels, p)
    }

    /// Copies `tile` with its top-left corner at (x, y), clipping at the edges.
    public mutating func paste(_ tile: RasterImage, x: Int, y: Int) {
        let t = channels == tile.channels ? tile : (channels == 3 ? tile.rgb() : tile)
        guard t.channels == channels else { return }
        for ty in 0..<t.height {
            let dy = y + ty
            if dy < 0 || dy >= height { continue }
            for tx in 0..<t.width {
                let dx = x + tx
                if dx < 0 || dx >= width { continue }
                let s = (ty * t.width + tx) * channels, d = (dy * width + dx) * channels
                for c in 0..<channels { pixels[d + c] = t.pixels[s + c] }
            }
        }
    }

    /// Fills a square dot centred at (x, y), clipped at the edges (scatter plots).
    public mutating func dot(x: Int, y: Int, radius: Int, colour: RGB) {
        guard channels == 3 else { return }
        for dy in -radius...radius {
            let py = y + dy
            if py < 0 || py >= height { continue }
            for dx in -radius...radius {
                let px = x + dx
                if px < 0 || px >= width { continue }
                let d = (py * width + px) * 3
                pixels[d] = colour.r; pixels[d + 1] = colour.g; pixels[d + 2] = colour.b
            }
        }
    }

    init(unchecked width: Int, _ height: Int, _ channels: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

@inline(__always)
func unitToByte(_ v: Float) -> UInt8 {
    guard v.isFinite else { return v == .infinity ? 255 : 0 }
    return UInt8(max(0, min(255, (v * 255).rounded())))
}
