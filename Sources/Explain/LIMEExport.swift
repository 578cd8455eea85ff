import Datasets

/// Rank 0's part of LIME: fits the surrogates from the gathered answers, writes each sample's
/// weights, segments and heat maps, sets the three attribution methods side by side and, where the
/// data's generating factors are known, measures each against them.
struct LIMEExport {
    let evaluations: LIMEEvaluations
    let arrays: PosteriorArrays
    let stats: LatentStatistics
    let dataset: Dataset
    let pictures: Pictures?
    let probe: ModelProbe
    let options: ExplainOptions

    struct Result {
        var summary: LIMESummary
        var groundTruth: [String: AttributionGroundTruth]?
        /// Per explained sample, the comparison picture's file name.
        var comparisons: [(index: Int, file: String, units: [Int])]
    }

    func write(out: OutputSet, seconds: [String: Double]) throws -> Result {
        var seconds = seconds
        var clock = Stopwatch()
        let active = Set(stats.activeDimensions)
        let explanations = try LIMEFit.fit(evaluations) { t in t.latentDimension.map(active.contains) ?? true }
        seconds["fit"] = clock.lap()
        let settings = evaluations.plan.settings
        let labels = dataset.labels

        var samples: [LIMESummary.SampleFit] = []
        for e in explanations {
            let dir = "lime/\(e.index)"
            try out.subdirectory(dir)
            var files: [String] = []
            let M = e.segmentation.count
            let segmentShape = pictures.map { [$0.shape.height, $0.shape.width] } ?? [e.segmentation.labels.count]
            try out.npy("\(dir)/segments.npy", e.segmentation.labels, shape: segmentShape)
            try out.npy("\(dir)/weights.npy", e.fit.coefficients.map(Float.init), shape: [e.targets.count, M])
            var table = CSVDocument(header: ["target", "r2", "intercept", "original"] + (0..<M).map { "segment_\($0)" })
            for (t, target) in e.targets.enumerated() {
                table.add([target.name, NumberFormat.double(e.fit.r2[t]), NumberFormat.double(e.fit.intercepts[t]),
                           NumberFormat.float(e.original[t])] + e.weights(t).map(NumberFormat.double))
            }
            try out.csv("\(dir)/weights.csv", table)
            files += ["segments.npy", "weights.npy", "weights.csv"].map { "\(dir)/\($0)" }
            if let pictures {
                for (t, target) in e.targets.enumerated() {
                    try out.png("\(dir)/\(target.name).png", heatMap(e, target: t, shape: pictures.shape))
                    files.append("\(dir)/\(target.name).png")
                }
            }
            samples.append(LIMESummary.SampleFit(
                index: e.index, label: labels.map { Int($0[e.index]) }, segments: M,
                targets: e.targets.enumerated().map { t, target in
                    LIMESummary.TargetFit(target: target.name, latentDimension: target.latentDimension, r2: e.fit.r2[t],
                                          intercept: e.fit.intercepts[t], original: Double(e.original[t]))
                },
                files: files))
        }
        seconds["files"] = clock.lap()

        func medianR2(_ keep: (LIMESummary.TargetFit) -> Bool) -> Double? {
            let values = samples.flatMap { $0.targets.filter(keep).map(\.r2) }.filter(\.isFinite).sorted()
            guard !values.isEmpty else { return nil }
            let n = values.count
            return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
        }
        var summary = LIMESummary(
            perturbations: settings.perturbations, segmentation: settings.segments.description,
            kernel: "exp(-d^2 / w^2), d = 1 - sqrt(kept / segments) (cosine distance to the unperturbed mask)",
            kernelWidth: settings.kernelWidth, baseline: settings.baseline.description, ridge: settings.ridge,
            batchRows: settings.batchRows, samples: samples,
            medianR2ActiveMeans: medianR2 { $0.latentDimension != nil } ?? .nan,
            medianR2KL: medianR2 { $0.target == "kl" }, medianR2Recon: medianR2 { $0.target == "recon" },
            rankCorrelation: nil, seconds: [:])

        var result = Result(summary: summary, groundTruth: nil, comparisons: [])
        if let pictures {
            let compared = try compare(explanations, pictures: pictures, out: out)
            summary.rankCorrelation = compared.correlation
            result.comparisons = compared.files
            if let truth = options.factorTruth, truth.count == dataset.count, truth.regions.allSatisfy({ $0.count == pictures.shape.pixels }) {
                let units = AttributionGroundTruth.factorOfUnits(mu: arrays.mu, latent: arrays.latent,
                                                                 dims: stats.activeDimensions, truth: truth)
                var measures: [String: AttributionGroundTruth] = [:]
                for (method, maps) in [("saliency", compared.saliency), ("occlusion", compared.occlusion), ("lime", compared.lime)] {
                    measures[method] = AttributionGroundTruth.measure(method: method, units: units, truth: truth) { maps[$0] ?? [] }
                }
                result.groundTruth = measures
            }
            seconds["comparison"] = clock.lap()
        }
        summary.seconds = seconds
        result.summary = summary
        return result
    }

    /// The weight of each segment over the image (blue lowers the target, red raises it, scaled to
    /// the largest magnitude), upscaled, with the segments' outlines in grey.
    func heatMap(_ e: LIMEExplanation, target t: Int, shape: ImageShape) throws -> RasterImage {
        let w = e.weights(t)
        let values = e.segmentation.labels.map { Float(w[Int($0)]) }
        let up = max(options.upscale, 1)
        var image = try RasterImage.diverging(values, width: shape.width, height: shape.height).upscaled(by: up)
        let outline = RGB(90, 90, 90)
        let labels = e.segmentation.labels
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                let l = labels[y * shape.width + x]
                if x + 1 < shape.width, labels[y * shape.width + x + 1] != l {
                    for k in 0..<up { image.dot(x: x * up + up - 1, y: y * up + k, radius: 0, colour: outline) }
                }
                if y + 1 < shape.height, labels[(y + 1) * shape.width + x] != l {
                    for k in 0..<up { image.dot(x: x * up + k, y: y * up + up - 1, radius: 0, colour: outline) }
                }
            }
        }
        return image
    }

    struct Comparison {
        /// Per active unit, one pixel map per explained sample.
        var saliency: [Int: [[Float]]] = [:]
        var occlusion: [Int: [[Float]]] = [:]
        var lime: [Int: [[Float]]] = [:]
        var correlation: LIMESummary.RankCorrelation?
        var files: [(index: Int, file: String, units: [Int])] = []
    }

    /// Gradient saliency, occlusion and LIME for the same samples and active units: maps for the
    /// ground truth, Spearman correlations of their segment rankings, and one picture per sample
    /// (rows: LIME, saliency, occlusion; columns: the input, its most informative active units,
    /// then LIME's KL and reconstruction maps).
    func compare(_ explanations: [LIMEExplanation], pictures p: Pictures, out: OutputSet) throws -> Comparison {
        var c = Comparison()
        let units = stats.activeDimensions
        let D = probe.inputDim
        let x = explanations.flatMap { dataset.rows([$0.index]) }
        let n = explanations.count
        for j in units {
            let g = probe.saliency(x, rows: n, dimension: j)
            c.saliency[j] = (0..<n).map { Array(g[($0 * D)..<(($0 + 1) * D)]) }
        }
        let occlusionMaps = (0..<n).map {
            OcclusionMap.compute(input: Array(x[($0 * D)..<(($0 + 1) * D)]), shape: p.shape, patch: options.occlusionPatch,
                                 grey: options.occlusionValue, probe: probe)
        }
        for j in units { c.occlusion[j] = occlusionMaps.map { $0.change(dimension: j) } }
        for j in units {
            c.lime[j] = explanations.map { e in
                e.targets.firstIndex { $0.latentDimension == j }.map { e.pixelAttribution($0) } ?? [Float](repeating: 0, count: D)
            }
        }

        var so: [Double] = [], sl: [Double] = [], ol: [Double] = []
        for (k, e) in explanations.enumerated() {
            for j in units {
                let s = segmentTotals(c.saliency[j]![k], e.segmentation)
                let o = segmentTotals(c.occlusion[j]![k], e.segmentation)
                let l = segmentTotals(c.lime[j]![k], e.segmentation)
                let a = Spearman.correlation(s, o), b = Spearman.correlation(s, l), d = Spearman.correlation(o, l)
                if a.isFinite { so.append(a) }
                if b.isFinite { sl.append(b) }
                if d.isFinite { ol.append(d) }
            }
        }
        if !units.isEmpty {
            c.correlation = LIMESummary.RankCorrelation(saliencyOcclusion: Spearman.median(so), saliencyLime: Spearman.median(sl),
                                                        occlusionLime: Spearman.median(ol), pairs: n * units.count)
        }

        let up = options.upscale
        for (k, e) in explanations.enumerated() {
            let kl = arrays.klRow(e.index).map { $0 }
            let shown = units.sorted { (kl[$0], -$0) > (kl[$1], -$1) }.prefix(options.lime?.shownUnits ?? 6)
            let whole = e.targets.indices.filter { e.targets[$0].latentDimension == nil }
            let columns = 1 + shown.count + whole.count
            var tiles = [RasterImage?](repeating: nil, count: 3 * columns)
            tiles[0] = p.shape.tile(x[(k * D)..<((k + 1) * D)], upscale: up)
            for (col, j) in shown.enumerated() {
                if let t = e.targets.firstIndex(where: { $0.latentDimension == j }) { tiles[1 + col] = try heatMap(e, target: t, shape: p.shape) }
                tiles[columns + 1 + col] = p.shape.divergingTile(c.saliency[j]![k][...], upscale: up)
                tiles[2 * columns + 1 + col] = p.shape.divergingTile(c.occlusion[j]![k].map { -$0 }[...], upscale: up)
            }
            for (col, t) in whole.enumerated() { tiles[1 + shown.count + col] = try heatMap(e, target: t, shape: p.shape) }
            let file = "lime/\(e.index)/comparison.png"
            try out.png(file, try ImageGrid.compose(tiles, columns: columns))
            c.files.append((e.index, file, Array(shown)))
        }
        return c
    }

    /// |sum of a pixel map over each segment|.
    func segmentTotals(_ map: [Float], _ s: Segmentation) -> [Double] {
        var t = [Double](repeating: 0, count: s.count)
        for (p, l) in s.labels.enumerated() where p < map.count && map[p].isFinite { t[Int(l)] += Double(map[p]) }
        return t.map(abs)
    }
}

/// Rank correlation with average ranks for ties.
enum Spearman {
    static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] || (v[$0] == v[$1] && $0 < $1) }
        var r = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = average }
            i = j + 1
        }
        return r
    }

    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count, a.count > 1 else { return .nan }
        let ra = ranks(a), rb = ranks(b)
        let c = AttributionGroundTruth.correlation(a.count, { ra[$0] }, { rb[$0] })
        // A constant ranking (every segment tied) correlates with nothing.
        return Set(a).count > 1 && Set(b).count > 1 ? c : .nan
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
