import Datasets
import Foundation
import VAE

/// The explanation of a Bayesian model's own uncertainty, written next to (or instead of) the
/// latent-space export: per-sample epistemic spread as `.npy`, per-pixel uncertainty maps of the
/// shown samples, the most and least uncertain samples as pictures, each layer's weight
/// signal-to-noise histogram, and an HTML section with the numbers (and the held-out class's
/// separation when there is one).
public struct EpistemicExport {
    public struct Separation {
        public var score: String
        public var heldOut: Int
        public var classMeans: [Int32: Double]
        public var ratio: Double
        public var auroc: Double
        public init(score: String, heldOut: Int, classMeans: [Int32: Double], ratio: Double, auroc: Double) {
            self.score = score; self.heldOut = heldOut; self.classMeans = classMeans; self.ratio = ratio; self.auroc = auroc
        }
    }

    public var latentSpread: [Double]
    public var reconSpread: [Double]
    public var negELBO: [Double]
    /// Samples with a per-pixel map, and the maps (reconstruction variance per value).
    public var shown: [Int]
    public var maps: [[Double]]
    /// Text lines of the headline figures (ELBO, weight KL, predictive estimate).
    public var figures: [(String, String)]
    public var separations: [Separation]

    public init(latentSpread: [Double], reconSpread: [Double], negELBO: [Double], shown: [Int], maps: [[Double]],
                figures: [(String, String)], separations: [Separation]) {
        self.latentSpread = latentSpread; self.reconSpread = reconSpread; self.negELBO = negELBO
        self.shown = shown; self.maps = maps; self.figures = figures; self.separations = separations
    }

    static func greyRGB(_ v: [Float], _ w: Int, _ h: Int) throws -> RasterImage {
        var p = [UInt8](); p.reserveCapacity(v.count * 3)
        for x in v { let b = UInt8(max(0, min(255, (x.isFinite ? x : 0) * 255))); p += [b, b, b] }
        return try RasterImage(width: w, height: h, channels: 3, pixels: p)
    }

    /// Writes everything into `directory` (made if missing); returns the files written.
    @discardableResult
    public func write(to directory: String, dataset: Dataset, model: VAEModel) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files: [String] = []
        func path(_ name: String) -> String { files.append(name); return directory + "/" + name }
        let N = latentSpread.count
        var values = [Float]()
        for i in 0..<N { values.append(Float(latentSpread[i])); values.append(Float(reconSpread[i])) }
        try NPYWriter.write(values, shape: [N, 2], to: path("epistemic.npy"))

        let shape = dataset.sampleShape
        let side = shape.count >= 2 ? (shape[shape.count - 2], shape[shape.count - 1]) : nil
        var sample = [Float](repeating: 0, count: dataset.dimension)
        func picture(_ i: Int) throws -> RasterImage? {
            guard let (h, w) = side, h * w == dataset.dimension else { return nil }
            sample.withUnsafeMutableBufferPointer { dataset.copySample(i, into: $0.baseAddress!) }
            return try Self.greyRGB(sample, w, h)
        }
        var html = "<section id=\"epistemic\"><h2>The model's own uncertainty (weight samples)</h2>\n<table>\n"
        for (k, v) in figures { html += "<tr><td>\(HTMLEscape.text(k))</td><td>\(HTMLEscape.text(v))</td></tr>\n" }
        html += "</table>\n"
        for s in separations {
            html += "<h3>Held-out class \(s.heldOut) by the \(HTMLEscape.text(s.score)) spread</h3>\n"
            html += String(format: "<p>mean uncertainty ratio %.2f (held-out over seen), AUROC %.3f</p>\n<table><tr><th>class</th><th>mean</th></tr>", s.ratio, s.auroc)
            for c in s.classMeans.keys.sorted() { html += String(format: "<tr><td>%d</td><td>%.4g</td></tr>", c, s.classMeans[c]!) }
            html += "</table>\n"
        }
        if let (h, w) = side, h * w == dataset.dimension {
            // Per-pixel maps: the input, then its reconstruction variance across weight samples.
            var tiles: [RasterImage?] = []
            for (k, i) in shown.enumerated() where k < maps.count {
                tiles.append(try picture(i))
                let m = maps[k].map(Float.init)
                tiles.append(try RasterImage.diverging(m, width: w, height: h))
            }
            if !tiles.isEmpty {
                try PNGWriter.write(try ImageGrid.compose(tiles, columns: 2), to: path("uncertainty_maps.png"))
                html += "<h3>Per-pixel uncertainty</h3><p>Each shown sample, then the variance of its reconstruction across weight samples (red: most).</p><img src=\"uncertainty_maps.png\" alt=\"uncertainty maps\">\n"
            }
            // Ranked by the reconstruction spread: what tells unseen classes apart (see the README).
            let order = reconSpread.indices.sorted { reconSpread[$0] < reconSpread[$1] }
            let count = min(16, N)
            try PNGWriter.write(try ImageGrid.compose(try order.suffix(count).reversed().map(picture), columns: 8),
                                to: path("most_uncertain.png"))
            try PNGWriter.write(try ImageGrid.compose(try order.prefix(count).map(picture), columns: 8),
                                to: path("least_uncertain.png"))
            html += "<h3>Most uncertain test samples</h3><img src=\"most_uncertain.png\" alt=\"most uncertain\">\n"
            html += "<h3>Least uncertain test samples</h3><img src=\"least_uncertain.png\" alt=\"least uncertain\">\n"
        }
        // Signal-to-noise |mu| / sigma of each weight tensor, as a histogram of log10 values.
        if let kl = model.weightKL {
            html += "<h3>Weight signal-to-noise |mu| / sigma per layer (log10 bins)</h3>\n"
            let p = model.parameters.baseAddress!
            for pair in kl.pairs where pair.name.hasSuffix(".weight") {
                var bins = [Int](repeating: 0, count: 12)  // log10 from -3 to 3 in halves
                for i in 0..<pair.count {
                    let r = p[pair.rho + i]
                    let sigma = max(Double(r) > 20 ? Double(r) : log1p(exp(Double(r))), 1e-30)
                    let snr = abs(Double(p[pair.mu + i])) / sigma
                    let b = Int(((log10(max(snr, 1e-30)) + 3) * 2).rounded(.down))
                    bins[max(0, min(11, b))] += 1
                }
                let bars = bins.enumerated().map { SVGChart.Bar(label: String(format: "%.1f", Double($0.offset) / 2 - 3), value: Double($0.element)) }
                let svg = SVGChart.bars(bars, title: "\(pair.name): log10 |mu|/sigma", valueLabel: "weights", width: 480, height: 200)
                let file = "snr_" + pair.name.replacingOccurrences(of: ".", with: "_") + ".svg"
                try svg.standalone.write(toFile: path(file), atomically: true, encoding: .utf8)
                html += svg.markup + "\n"
            }
        }
        html += "</section>\n"
        let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Epistemic uncertainty</title></head><body>\n" + html + "</body></html>\n"
        try page.write(toFile: path("uncertainty.html"), atomically: true, encoding: .utf8)
        return files
    }
}
