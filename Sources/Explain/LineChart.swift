/// Lines over a shared x axis (epochs, steps), with a legend: the run's curves.
extension SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var colour: RGB
        public var dashed: Bool
        public init(name: String, points: [(x: Double, y: Double)], colour: RGB, dashed: Bool = false) {
            self.name = name; self.points = points; self.colour = colour; self.dashed = dashed
        }
    }

    /// Each series as a polyline with a dot per point (so a single epoch still shows); non-finite
    /// points are left out. `yFromZero` puts 0 on the axis (throughput, shares).
    public static func lines(_ series: [Series], title: String, xLabel: String, yLabel yText: String,
                             yFromZero: Bool = false, width: Int = 720, height: Int = 300) -> SVGFragment {
        let clean = series.map { s -> Series in
            var c = s
            c.points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            return c
        }
        let xs = clean.flatMap { $0.points.map(\.x) }, ys = clean.flatMap { $0.points.map(\.y) }
        let xAxis = Axis(min: xs.min() ?? 0, max: xs.max() ?? 1)
        let yAxis = Axis(min: yFromZero ? min(0, ys.min() ?? 0) : (ys.min() ?? 0), max: ys.max() ?? 1)
        let legendWidth = 150
        let plot = PlotArea(width: width - legendWidth, height: height)
        var s = open(width: width, height: height, title: title)
        s += yAxis.verticalTicks(in: plot)
        s += xAxis.horizontalTicks(in: plot)
        s += yLabel(yText, plot: plot)
        s += "<text x=\"\(f((plot.left + plot.right) / 2))\" y=\"\(f(plot.bottom + 32))\" text-anchor=\"middle\" \(font)>\(HTMLEscape.text(xLabel))</text>\n"
        for line in clean where !line.points.isEmpty {
            let pts = line.points.map { p in
                (plot.left + xAxis.fraction(p.x) * plot.width, plot.y(yAxis.fraction(p.y)))
            }
            let dash = line.dashed ? " stroke-dasharray=\"6,4\"" : ""
            s += "<polyline class=\"series\" data-name=\"\(HTMLEscape.text(line.name))\" fill=\"none\" stroke=\"\(line.colour.hex)\" stroke-width=\"2\"\(dash) points=\""
            s += pts.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ") + "\"/>\n"
            // Dots only while they stay apart; a curve of thousands of steps is the line alone.
            if pts.count <= 200 {
                for (p, v) in zip(pts, line.points) {
                    s += "<circle cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"2.5\" fill=\"\(line.colour.hex)\"><title>\(HTMLEscape.text(line.name)) at \(NumberFormat.tick(v.x)): \(NumberFormat.tick(v.y))</title></circle>\n"
                }
            }
        }
        for (row, line) in clean.prefix(12).enumerated() {
            let ly = plot.top + 14 + Double(row) * 18
            let lx = Double(width - legendWidth + 12)
            let dash = line.dashed ? " stroke-dasharray=\"6,4\"" : ""
            s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 18))\" y2=\"\(f(ly - 4))\" stroke=\"\(line.colour.hex)\" stroke-width=\"2\"\(dash)/>"
            s += "<text x=\"\(f(lx + 24))\" y=\"\(f(ly))\" \(font)>\(HTMLEscape.text(line.name))</text>\n"
        }
        return SVGFragment(s + "</svg>")
    }
}
