/// Lays equally sized tiles out in rows, separated by a border, as one picture.
public enum ImageGrid {
    public static let borderColour = RGB(255, 255, 255)

    /// `tiles` fill the grid row by row; `nil` leaves a cell blank (ragged rows of comparisons).
    /// Every tile must have the size of the first non-nil one.
    public static func compose(_ tiles: [RasterImage?], columns: Int, border: Int = 2,
                               background: RGB = borderColour) throws -> RasterImage {
        guard let first = tiles.first(where: { $0 != nil }) ?? nil else {
            throw ExplainError("image grid: expected at least one tile, found none")
        }
        guard columns > 0 else { throw ExplainError("image grid: expected columns > 0, found \(columns)") }
        for case let t? in tiles where t.width != first.width || t.height != first.height {
            throw ExplainError("image grid: expected tiles of \(first.width)x\(first.height), found \(t.width)x\(t.height)")
        }
        let rows = (tiles.count + columns - 1) / columns
        let w = border + columns * (first.width + border)
        let h = border + rows * (first.height + border)
        var canvas = RasterImage(width: w, height: h, fill: background)
        for (i, tile) in tiles.enumerated() {
            guard let tile else { continue }
            let x = border + (i % columns) * (first.width + border)
            let y = border + (i / columns) * (first.height + border)
            canvas.paste(tile, x: x, y: y)
        }
        return canvas
    }
}
