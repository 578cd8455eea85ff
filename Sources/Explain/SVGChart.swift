import Foundation

/// A chart as inline SVG markup. Only this module builds one, and it escapes every piece of
/// text it places, so the report can embed the markup as is.
public struct SVGFragment {
    public let markup: String
    init(_ markup: String) { self.markup = markup }

    /// The chart as a file of its own: a standalone SVG needs its namespace to be drawn.
    public var standalone: String {
        let svg = markup.hasPrefix("<svg ") ? "<svg xmlns=\"http://www.w3.org/2000/svg\" " + markup.dropFirst(5) : Substring(markup)
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n"
    }
}

/// Small dependency-free SVG charts for the report: bars, error bars and a labelled scatter.
public enum SVGChart {
    public struct Bar {
        public var label: String
        public var value: Double
        public var highlighted: Bool
        public init(label: String, value: Double, highlighted: Bool = false) {
            self.label = label; self.value = value; self.highlighted = highlighted
        }
    }

    static let plain = RGB(0x9a, 0xa8, 0xb8)
    static let strong = RGB(0x1f, 0x5f, 0xa8)
    static let font = "font-family=\"sans-serif\" font-size=\"11\""

    /// Vertical bars, optionally with a dashed horizontal threshold line.
    public static func bars(_ bars: [Bar], title: String, valueLabel: String, threshold: Double? = nil,
                            width: Int = 720, height: Int = 280) -> SVGFragment {
        let values = bars.map { $0.value.isFinite ? $0.value : 0 } + (threshold.map { [$0] } ?? [])
        let axis = Axis(min: min(0, values.min() ?? 0), max: max(values.max() ?? 1, 0))
        let plot = PlotArea(width: width, height: height)
        var s = open(width: width, height: height, title: title)
        s += axis.verticalTicks(in: plot)
        s += yLabel(valueLabel, plot: plot)
        let slot = plot.width / Double(max(bars.count, 1))
        let zeroY = plot.y(axis.fraction(0))
        // Label every bar while they fit; otherwise every k-th so labels never overlap.
        let labelEvery = max(1, Int((14 / slot).rounded(.up)))
        for (i, bar) in bars.enumerated() {
            let v = bar.value.isFinite ? bar.value : 0
            let y = plot.y(axis.fraction(v))
            let x = plot.left + Double(i) * slot + slot * 0.1
            let colour = bar.highlighted ? strong : plain
            s += "<rect x=\"\(f(x))\" y=\"\(f(min(y, zeroY)))\" width=\"\(f(slot * 0.8))\" height=\"\(f(abs(zeroY - y)))\" fill=\"\(colour.hex)\">"
            s += "<title>\(HTMLEscape.text(bar.label)): \(NumberFormat.tick(bar.value))</title></rect>\n"
            if i % labelEvery == 0 {
                let cx = plot.left + (Double(i) + 0.5) * slot
                s += "<text x=\"\(f(cx))\" y=\"\(f(plot.bottom + 14))\" text-anchor=\"middle\" \(font)>\(HTMLEscape.text(bar.label))</text>\n"
            }
        }
        if let t = threshold, t.isFinite {
            let y = plot.y(axis.fraction(t))
            s += "<line x1=\"\(f(plot.left))\" y1=\"\(f(y))\" x2=\"\(f(plot.right))\" y2=\"\(f(y))\" stroke=\"#c0392b\" stroke-dasharray=\"5,4\"/>\n"
            s += "<text x=\"\(f(plot.right))\" y=\"\(f(y - 4))\" text-anchor=\"end\" fill=\"#c0392b\" \(font)>\(HTMLEscape.text(NumberFormat.tick(t)))</text>\n"
        }
        return SVGFragment(s + "</svg>")
    }

    /// A point with an interval per item (the posterior mean +- 2 standard deviations per dimension).
    public static func intervals(centres: [Double], halfWidths: [Double], labels: [String], title: String,
                                 valueLabel: String, width: Int = 720, height: Int = 260) -> SVGFragment {
        let n = min(centres.count, halfWidths.count, labels.count)
        var lo = 0.0, hi = 0.0
        for i in 0..<n where centres[i].isFinite && halfWidths[i].isFinite {
            lo = min(lo, centres[i] - halfWidths[i]); hi = max(hi, centres[i] + halfWidths[i])
        }
        let axis = Axis(min: lo, max: hi)
        let plot = PlotArea(width: width, height: height)
        var s = open(width: width, height: height, title: title)
        s += axis.verticalTicks(in: plot)
        s += yLabel(valueLabel, plot: plot)
        let slot = plot.width / Double(max(n, 1))
        let labelEvery = max(1, Int((14 / slot).rounded(.up)))
        for i in 0..<n {
            let c = centres[i].isFinite ? centres[i] : 0
            let h = halfWidths[i].isFinite ? halfWidths[i] : 0
            let x = plot.left + (Double(i) + 0.5) * slot
            let y0 = plot.y(axis.fraction(c - h)), y1 = plot.y(axis.fraction(c + h)), yc = plot.y(axis.fraction(c))
            s += "<g><title>\(HTMLEscape.text(labels[i])): \(NumberFormat.tick(c)) ± \(NumberFormat.tick(h))</title>"
            s += "<line x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" y2=\"\(f(y1))\" stroke=\"\(plain.hex)\" stroke-width=\"3\"/>"
            s += "<circle cx=\"\(f(x))\" cy=\"\(f(yc))\" r=\"3\" fill=\"\(strong.hex)\"/></g>\n"
            if i % labelEvery == 0 {
                s += "<text x=\"\(f(x))\" y=\"\(f(plot.bottom + 14))\" text-anchor=\"middle\" \(font)>\(HTMLEscape.text(labels[i]))</text>\n"
            }
        }
        return SVGFragment(s + "</svg>")
    }

    /// Points coloured by class with a legend. At most `maxPoints` are drawn, taken at an even
    /// stride so the picture is the same for the same data and the file stays small.
    public static func scatter(x: [Float], y: [Float], labels: [Int32]?, classNames: [String] = [],
                               title: String, xLabel: String, yLabel yText: String,
                               maxPoints: Int = 3000, width: Int = 560, height: Int = 460) -> SVGFragment {
        let n = min(x.count, y.count)
        let finite = (0..<n).filter { x[$0].isFinite && y[$0].isFinite }
        let xs = finite.map { Double(x[$0]) }, ys = finite.map { Double(y[$0]) }
        let xAxis = Axis(min: xs.min() ?? 0, max: xs.max() ?? 1)
        let yAxis = Axis(min: ys.min() ?? 0, max: ys.max() ?? 1)
        let classes = labels.map { l in Array(Set(finite.map { Int(l[$0]) })).sorted() } ?? []
        let legendWidth = classes.isEmpty ? 0 : 130
        let plot = PlotArea(width: width - legendWidth, height: height)
        var s = open(width: width, height: height, title: title)
        s += yAxis.verticalTicks(in: plot)
        s += xAxis.horizontalTicks(in: plot)
        s += yLabel(yText, plot: plot)
        s += "<text x=\"\(f((plot.left + plot.right) / 2))\" y=\"\(f(plot.bottom + 32))\" text-anchor=\"middle\" \(font)>\(HTMLEscape.text(xLabel))</text>\n"
        let stride = max(1, (finite.count + maxPoints - 1) / max(maxPoints, 1))
        var k = 0
        while k < finite.count {
            let i = finite[k]
            let colour = labels.map { Colormap.classColour(Int($0[i])) } ?? strong
            let px = plot.left + xAxis.fraction(Double(x[i])) * plot.width
            let py = plot.y(yAxis.fraction(Double(y[i])))
            s += "<circle cx=\"\(f(px))\" cy=\"\(f(py))\" r=\"2.2\" fill=\"\(colour.hex)\" fill-opacity=\"0.7\"/>\n"
            k += stride
        }
        for (row, c) in classes.prefix(20).enumerated() {
            let ly = Double(plot.top) + 14 + Double(row) * 18
            let lx = Double(width - legendWidth + 12)
            let name = c >= 0 && c < classNames.count ? classNames[c] : "class \(c)"
            s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(Colormap.classColour(c).hex)\"/>"
            s += "<text x=\"\(f(lx + 16))\" y=\"\(f(ly))\" \(font)>\(HTMLEscape.text(name))</text>\n"
        }
        return SVGFragment(s + "</svg>")
    }

    static func open(width: Int, height: Int, title: String) -> String {
        // No xmlns: inline SVG in HTML needs none, and the report then names no URL at all.
        var s = "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        s += "<text x=\"\(width / 2)\" y=\"16\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"13\" font-weight=\"bold\">\(HTMLEscape.text(title))</text>\n"
        return s
    }

    static func yLabel(_ text: String, plot: PlotArea) -> String {
        let cy = (plot.top + plot.bottom) / 2
        return "<text x=\"12\" y=\"\(f(cy))\" transform=\"rotate(-90 12 \(f(cy)))\" text-anchor=\"middle\" \(font)>\(HTMLEscape.text(text))</text>\n"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v.isFinite ? v : 0) }
}

/// The drawing rectangle inside the margins.
struct PlotArea {
    let left: Double, right: Double, top: Double, bottom: Double
    init(width: Int, height: Int) {
        left = 62; right = Double(width) - 14; top = 28; bottom = Double(height) - 40
    }
    var width: Double { right - left }
    /// Screen y of a fraction of the way up the axis.
    func y(_ fraction: Double) -> Double { bottom - fraction * (bottom - top) }
}

/// A linear axis widened to round tick values.
struct Axis {
    let lo: Double, hi: Double, step: Double
    init(min a: Double, max b: Double) {
        var a = a.isFinite ? a : 0, b = b.isFinite ? b : 1
        if b <= a { let c = a; a = c - 0.5; b = c + 0.5 }
        let raw = (b - a) / 5
        let mag = pow(10, floor(log10(raw)))
        let unit = [1.0, 2, 5, 10].first { $0 * mag >= raw } ?? 10
        step = unit * mag
        lo = floor(a / step) * step
        hi = ceil(b / step) * step
    }
    func fraction(_ v: Double) -> Double { hi > lo ? (v - lo) / (hi - lo) : 0.5 }
    var ticks: [Double] {
        var t: [Double] = []
        var v = lo
        while v <= hi + step * 0.5 && t.count < 50 { t.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return t
    }
    func verticalTicks(in plot: PlotArea) -> String {
        var s = "<line x1=\"\(SVGChart.f(plot.left))\" y1=\"\(SVGChart.f(plot.top))\" x2=\"\(SVGChart.f(plot.left))\" y2=\"\(SVGChart.f(plot.bottom))\" stroke=\"#444\"/>\n"
        for t in ticks {
            let y = plot.y(fraction(t))
            s += "<line x1=\"\(SVGChart.f(plot.left))\" y1=\"\(SVGChart.f(y))\" x2=\"\(SVGChart.f(plot.right))\" y2=\"\(SVGChart.f(y))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(SVGChart.f(plot.left - 5))\" y=\"\(SVGChart.f(y + 4))\" text-anchor=\"end\" \(SVGChart.font)>\(NumberFormat.tick(t))</text>\n"
        }
        return s
    }
    func horizontalTicks(in plot: PlotArea) -> String {
        var s = "<line x1=\"\(SVGChart.f(plot.left))\" y1=\"\(SVGChart.f(plot.bottom))\" x2=\"\(SVGChart.f(plot.right))\" y2=\"\(SVGChart.f(plot.bottom))\" stroke=\"#444\"/>\n"
        for t in ticks {
            let x = plot.left + fraction(t) * plot.width
            s += "<text x=\"\(SVGChart.f(x))\" y=\"\(SVGChart.f(plot.bottom + 14))\" text-anchor=\"middle\" \(SVGChart.font)>\(NumberFormat.tick(t))</text>\n"
        }
        return s
    }
}
