import Datasets
import Foundation
import VAE

/// The explanation of a Bayesian model's own uncertainty: per-sample epistemic measures as
/// `.npy`, per-pixel uncertainty maps, the most and least uncertain samples as pictures, each
/// weight tensor's signal-to-noise histogram, and the summary the report's section is drawn from.
/// Written into `uncertainty/` of an explanation export (report.html then has the section), or on
/// its own into a directory with `uncertainty.html` (`mpivae evaluate --uncertainty-out`).
public struct EpistemicExport {
    /// One per-sample measure of uncertainty across the weight samples.
    public struct Measure {
        public var name: String
        public var definition: String
        public var values: [Double]
        public init(name: String, definition: String, values: [Double]) {
            self.name = name; self.definition = definition; self.values = values
        }
    }

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

    public static let directoryName = "uncertainty"
    public static let tailShare = 0.05

    public var weightSamples: Int
    /// Every measure, the one that ranks the samples (and drives every claim) first.
    public var measures: [Measure]
    /// Per sample and latent dimension (`count x latent`): the variance of the posterior mean.
    public var latentSpreadPerDimension: [Double]
    public var negELBO: [Double]
    /// Samples with a per-pixel map, and the maps (reconstruction variance per value).
    public var shown: [Int]
    public var maps: [[Double]]
    /// Headline figures (ELBO, weight KL, predictive estimate) as label and value.
    public var figures: [(String, String)]
    public var separations: [Separation]

    public init(weightSamples: Int, measures: [Measure], latentSpreadPerDimension: [Double], negELBO: [Double],
                shown: [Int], maps: [[Double]], figures: [(String, String)], separations: [Separation]) {
        precondition(!measures.isEmpty, "EpistemicExport: at least the ranking measure")
        self.weightSamples = weightSamples; self.measures = measures
        self.latentSpreadPerDimension = latentSpreadPerDimension; self.negELBO = negELBO
        self.shown = shown; self.maps = maps; self.figures = figures; self.separations = separations
    }

    var ranking: Measure { measures[0] }
    var count: Int { ranking.values.count }

    /// Sample indices from least to most uncertain by the ranking measure (ties by index).
    var order: [Int] {
        let u = ranking.values
        return u.indices.sorted { (u[$0], $0) < (u[$1], $1) }
    }

    /// Writes everything under `prefix` ("uncertainty/" in an export) of `out`; explained samples
    /// that have a map also get `samples/<i>/uncertainty.png`.
    func write(out: OutputSet, prefix: String, dataset: Dataset, model: VAEModel, upscale: Int,
               explained: [Int] = []) throws -> EpistemicSummary {
        let N = count, L = model.config.latent
        if !prefix.isEmpty { try out.subdirectory(String(prefix.dropLast())) }
        var columns = [Float](repeating: 0, count: N * measures.count)
        for (k, m) in measures.enumerated() { for i in 0..<N { columns[i * measures.count + k] = Float(m.values[i]) } }
        try out.npy(prefix + "epistemic.npy", columns, shape: [N, measures.count])
        if latentSpreadPerDimension.count == N * L {
            try out.npy(prefix + "latent_spread_per_dim.npy", latentSpreadPerDimension.map(Float.init), shape: [N, L])
        }

        let labels = dataset.labels.flatMap { $0.count == N ? $0 : nil }
        let sorted = order
        let tail = max(1, Int((Double(N) * Self.tailShare).rounded(.down)))
        func meanELBO(_ idx: ArraySlice<Int>) -> Double { idx.reduce(0) { $0 + negELBO[$1] } / Double(max(idx.count, 1)) }
        func ranked(_ i: Int) -> EpistemicSummary.Ranked {
            EpistemicSummary.Ranked(index: i, label: labels.map { Int($0[i]) }, uncertainty: ranking.values[i], negELBO: negELBO[i])
        }
        let shownCount = min(16, N)
        var classes: [EpistemicSummary.ClassMean] = []
        if let labels {
            var sums: [Int32: (Double, Int)] = [:]
            for i in 0..<N { sums[labels[i], default: (0, 0)].0 += ranking.values[i]; sums[labels[i], default: (0, 0)].1 += 1 }
            classes = sums.keys.sorted().map { EpistemicSummary.ClassMean(label: Int($0), count: sums[$0]!.1, mean: sums[$0]!.0 / Double(sums[$0]!.1)) }
        }
        var summary = EpistemicSummary(
            weightSamples: weightSamples, measure: ranking.name, measureDefinition: ranking.definition, count: N,
            columns: measures.map(\.name), meanUncertainty: ranking.values.reduce(0, +) / Double(max(N, 1)),
            tailShare: Self.tailShare, tailCount: tail,
            mostUncertainNegELBO: meanELBO(sorted.suffix(tail)), leastUncertainNegELBO: meanELBO(sorted.prefix(tail)),
            facts: figures.map { EpistemicSummary.Fact(name: $0.0, value: $0.1) } + measures.map {
                EpistemicSummary.Fact(name: "measure: \($0.name)", value: $0.definition)
            },
            classes: classes,
            separations: separations.map { s in
                let seen = s.classMeans[Int32(s.heldOut)].map { $0 / s.ratio } ?? .nan
                return EpistemicSummary.Separation(
                    measure: s.score, heldOut: s.heldOut, heldOutMean: s.classMeans[Int32(s.heldOut)] ?? .nan, seenMean: seen,
                    ratio: s.ratio, auroc: s.auroc,
                    classes: s.classMeans.keys.sorted().map { c in
                        EpistemicSummary.ClassMean(label: Int(c), count: labels?.filter { $0 == c }.count ?? 0, mean: s.classMeans[c]!)
                    })
            },
            mostUncertain: sorted.suffix(shownCount).reversed().map(ranked), leastUncertain: sorted.prefix(shownCount).map(ranked),
            signalToNoise: Self.signalToNoise(model), mapped: Array(shown.prefix(maps.count)), files: [])

        if let shape = ImageShape(sampleShape: dataset.sampleShape, values: dataset.valueRange), shape.pixels == dataset.dimension {
            var sample = [Float](repeating: 0, count: dataset.dimension)
            func picture(_ i: Int) -> RasterImage {
                sample.withUnsafeMutableBufferPointer { dataset.copySample(i, into: $0.baseAddress!) }
                return shape.tile(sample[...], upscale: upscale).rgb()
            }
            func map(_ k: Int) throws -> RasterImage {
                try RasterImage.heat(maps[k].map(Float.init), width: shape.width, height: shape.height).upscaled(by: upscale)
            }
            var tiles: [RasterImage?] = []
            for k in summary.mapped.indices { tiles += [picture(summary.mapped[k]), try map(k)] }
            if !tiles.isEmpty {
                try out.png(prefix + "uncertainty_maps.png", try ImageGrid.compose(tiles, columns: min(8, tiles.count)))
            }
            for i in explained {
                guard let k = summary.mapped.firstIndex(of: i) else { continue }
                try out.png("samples/\(i)/uncertainty.png", try ImageGrid.compose([picture(i), try map(k)], columns: 2))
            }
            try out.png(prefix + "most_uncertain.png", try ImageGrid.compose(summary.mostUncertain.map { picture($0.index) }, columns: 8))
            try out.png(prefix + "least_uncertain.png", try ImageGrid.compose(summary.leastUncertain.map { picture($0.index) }, columns: 8))
        }
        for h in summary.signalToNoise {
            try out.text(prefix + Self.histogramFile(h.tensor), Self.histogramChart(h).standalone)
        }
        try out.csv(prefix + "class_uncertainty.csv", classTable(summary, labels: labels))
        summary.files = out.files.filter { $0.hasPrefix(prefix) || $0.hasSuffix("/uncertainty.png") }
        return summary
    }

    /// Per label, every measure's mean.
    func classTable(_ summary: EpistemicSummary, labels: [Int32]?) -> CSVDocument {
        var doc = CSVDocument(header: ["label", "count"] + measures.map(\.name))
        guard let labels else { return doc }
        for c in summary.classes {
            var row = ["\(c.label)", "\(c.count)"]
            for m in measures {
                var s = 0.0
                for (i, v) in m.values.enumerated() where labels[i] == Int32(c.label) { s += v }
                row.append(String(format: "%.6g", s / Double(max(c.count, 1))))
            }
            doc.add(row)
        }
        return doc
    }

    /// The explanation on its own: the files in `directory` and `uncertainty.html` showing them.
    @discardableResult
    public func write(to directory: String, dataset: Dataset, model: VAEModel, title: String) throws -> EpistemicSummary {
        let out = try OutputSet(directory: directory)
        // Without the export beside them, the arrays the measures are read against.
        try out.npy("neg_elbo.npy", negELBO.map(Float.init), shape: [count])
        if let labels = dataset.labels, labels.count == count { try out.npy("labels.npy", labels, shape: [count]) }
        var summary = try write(out: out, prefix: "", dataset: dataset, model: model, upscale: 3)
        summary.files = out.files
        summary.files.append("uncertainty.html")
        var report = HTMLReport(title: title)
        EpistemicReportSection(summary: summary, pngs: out.pngs, prefix: "",
                               classNames: dataset.name.lowercased().hasPrefix("fashion-mnist") ? ExplainOptions.fashionMNISTClassNames : [])
            .add(to: &report)
        try report.write(to: out.path("uncertainty.html"))
        return summary
    }

    static func histogramFile(_ tensor: String) -> String { "snr_" + tensor.replacingOccurrences(of: ".", with: "_") + ".svg" }

    static func histogramChart(_ h: EpistemicSummary.Histogram) -> SVGFragment {
        let bars = h.counts.enumerated().map {
            SVGChart.Bar(label: String(format: "%.1f", h.firstBin + Double($0.offset) * h.binWidth), value: Double($0.element))
        }
        return SVGChart.bars(bars, title: "\(h.tensor): log10 |mu| / sigma (median \(NumberFormat.fixed(h.median, 2)))",
                             valueLabel: "weights", width: 480, height: 200)
    }

    /// log10 |mu| / sigma of every weight tensor (biases left out), sigma = softplus(rho).
    static func signalToNoise(_ model: VAEModel) -> [EpistemicSummary.Histogram] {
        guard let kl = model.weightKL else { return [] }
        let p = model.parameters.baseAddress!
        let first = -3.0, width = 0.5, bins = 12
        return kl.pairs.filter { $0.name.hasSuffix(".weight") }.map { pair in
            var counts = [Int](repeating: 0, count: bins)
            var logs = [Double](); logs.reserveCapacity(pair.count)
            for i in 0..<pair.count {
                let r = Double(p[pair.rho + i])
                let sigma = max(r > 20 ? r : log1p(exp(r)), 1e-30)
                let v = log10(max(abs(Double(p[pair.mu + i])) / sigma, 1e-30))
                logs.append(v)
                counts[max(0, min(bins - 1, Int(((v - first) / width).rounded(.down))))] += 1
            }
            logs.sort()
            let median = logs.isEmpty ? .nan : logs[logs.count / 2]
            return EpistemicSummary.Histogram(tensor: pair.name, firstBin: first, binWidth: width, counts: counts, median: median)
        }
    }

    /// What the per-sample explanation of sample `i` says about its uncertainty.
    func sample(_ i: Int, summary: EpistemicSummary, ranks: [Int]) -> EpistemicSummary.Sample {
        EpistemicSummary.Sample(
            uncertainty: ranking.values[i], rank: ranks[i],
            measures: measures.map { EpistemicSummary.Fact(name: $0.name, value: String(format: "%.4g", $0.values[i])) },
            map: summary.files.contains("samples/\(i)/uncertainty.png") ? "samples/\(i)/uncertainty.png" : nil)
    }

    /// Rank of every sample, 1 for the most uncertain.
    var ranks: [Int] {
        var r = [Int](repeating: 0, count: count)
        for (k, i) in order.reversed().enumerated() { r[i] = k + 1 }
        return r
    }
}
