/// The cluster x label table as pictures: each cell's colour is the share of the cluster's members
/// that carry the label (white 0, red 1), so a pure cluster is one red cell in its row and a mixed
/// one a spread of pale ones, whatever the cluster sizes.
enum ClusterLabelChart {
    /// Row-normalized shares; an empty cluster's row is zeros.
    static func shares(_ table: [[Int]]) -> [[Double]] {
        table.map { row in
            let n = row.reduce(0, +)
            return row.map { n > 0 ? Double($0) / Double(n) : 0 }
        }
    }

    /// The heat map as a PNG, `cell` pixels a cell, a one-pixel grey grid between cells.
    static func raster(_ table: [[Int]], cell: Int = 18) throws -> RasterImage {
        let s = shares(table)
        let rows = s.count, columns = s.first?.count ?? 0
        guard rows > 0, columns > 0 else { throw ExplainError("cluster label table: expected at least one cluster and one label, found \(rows)x\(columns)") }
        let w = columns * cell + 1, h = rows * cell + 1
        var canvas = RasterImage(width: w, height: h, fill: RGB(200, 200, 200))
        for (k, row) in s.enumerated() {
            for (j, share) in row.enumerated() {
                let colour = Colormap.diverging(Float(share))
                let block = RasterImage(width: cell - 1, height: cell - 1, fill: colour)
                canvas.paste(block, x: j * cell + 1, y: k * cell + 1)
            }
        }
        return canvas
    }

    /// The heat map as SVG with the counts written in the cells and the rows and columns named.
    static func svg(_ table: [[Int]], rowNames: [String], columnNames: [String], title: String) -> SVGFragment {
        let s = shares(table)
        let cell = 34.0, left = 130.0, top = 96.0
        let columns = columnNames.count, rows = rowNames.count
        let width = Int(left + Double(columns) * cell + 20), height = Int(top + Double(rows) * cell + 16)
        let f = SVGChart.f, font = SVGChart.font
        var m = SVGChart.open(width: width, height: height, title: title)
        for (j, name) in columnNames.enumerated() {
            let x = left + (Double(j) + 0.5) * cell, y = top - 6
            m += "<text x=\"\(f(x))\" y=\"\(f(y))\" transform=\"rotate(-50 \(f(x)) \(f(y)))\" \(font)>\(HTMLEscape.text(name))</text>\n"
        }
        for (k, name) in rowNames.enumerated() {
            let y = top + (Double(k) + 0.5) * cell + 4
            m += "<text x=\"\(f(left - 6))\" y=\"\(f(y))\" text-anchor=\"end\" \(font)>\(HTMLEscape.text(name))</text>\n"
            for j in 0..<min(columns, table[k].count) {
                let x = left + Double(j) * cell, yy = top + Double(k) * cell
                let share = s[k][j]
                m += "<rect class=\"cell\" x=\"\(f(x))\" y=\"\(f(yy))\" width=\"\(f(cell - 1))\" height=\"\(f(cell - 1))\" fill=\"\(Colormap.diverging(Float(share)).hex)\">"
                m += "<title>\(HTMLEscape.text(name)), \(HTMLEscape.text(columnNames[j])): \(table[k][j]) (\(NumberFormat.fixed(100 * share, 1))%)</title></rect>\n"
                if table[k][j] > 0 {
                    let ink = share > 0.55 ? "#ffffff" : "#222222"
                    m += "<text x=\"\(f(x + cell / 2))\" y=\"\(f(yy + cell / 2 + 4))\" text-anchor=\"middle\" fill=\"\(ink)\" font-family=\"sans-serif\" font-size=\"9\">\(table[k][j])</text>\n"
                }
            }
        }
        return SVGFragment(m + "</svg>")
    }
}
