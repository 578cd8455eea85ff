import Datasets
import Foundation
import VAE

/// Everything rank 0 writes once it holds the whole evaluation set's posterior arrays.
struct ExportWriter {
    let model: VAEModel
    let dataset: Dataset
    let trainSet: Dataset?
    let options: ExplainOptions
    let checkpointInfo: [String: String]
    let ranks: Int

    func write(_ a: PosteriorArrays, lime: LIMEEvaluations? = nil, seconds: [String: Double], log: (String) -> Void) throws -> ExplainSummary {
        var seconds = seconds
        var clock = Stopwatch()
        let out = try OutputSet(directory: options.outDir)
        // summary.json, written last, marks a finished export. Over an earlier export, its summary
        // and report go first: a stop part way must not leave them beside a mix of new files.
        try out.withdraw("summary.json")
        try out.withdraw("report.html")
        let n = a.count, d = a.latent

        try out.npy("mu.npy", a.mu, shape: [n, d])
        try out.npy("logvar.npy", a.logvar, shape: [n, d])
        try out.npy("kl_per_dim.npy", a.klPerDim, shape: [n, d])
        try out.npy("neg_elbo.npy", a.negELBO, shape: [n])
        try out.npy("recon.npy", a.recon, shape: [n])
        if !a.negLogPxIWAE.isEmpty { try out.npy("neg_log_px_iwae.npy", a.negLogPxIWAE, shape: [n]) }
        let labels = dataset.labels.flatMap { $0.count == n ? $0 : nil }
        if let labels { try out.npy("labels.npy", labels, shape: [n]) }
        try writeExtras(a, out: out)
        let clusters = a.extra(named: ClusterExport.extraName).map {
            ClusterAnalysis(responsibilities: $0.values, clusters: $0.width, labels: labels)
        }

        let stats = LatentStatistics(a, labels: labels, activeThreshold: options.activeThreshold)
        var summary = makeSummary(a, stats: stats, labels: labels)
        try writeTables(stats, summary: summary, out: out)
        seconds["arrays_and_tables"] = clock.lap()

        let probe = ModelProbe(model: model, maxBatch: max(options.batchSize, 64))
        let shape = ImageShape(sampleShape: dataset.sampleShape, values: dataset.valueRange)
        let pictures = shape.map { Pictures(shape: $0, probe: probe, options: options) }
        if let pictures {
            try writePictures(pictures, arrays: a, stats: stats, labels: labels, out: out)
        } else {
            log("explain: samples of shape \(dataset.sampleShape) are not images; pictures skipped")
        }
        // The scatter is an SVG file as well, so that the legend names the classes.
        let scatterDims = Self.scatterDimensions(stats)
        let scatter = scatterSVG(a, stats: stats, labels: labels, dims: scatterDims)
        try out.text("latent_scatter.svg", scatter.standalone)
        seconds["pictures"] = clock.lap()

        let explainer = SampleExplainer(arrays: a, stats: stats, dataset: dataset, trainSet: trainSet,
                                        pictures: pictures, probe: probe, options: options, clusters: clusters)
        var unique: [Int] = []
        for s in options.samples where !unique.contains(s) { unique.append(s) }
        if !unique.isEmpty {
            let reference = explainer.referenceMeans(log: log)
            for s in unique { summary.samples.append(try explainer.explain(s, reference: reference, output: out)) }
        }
        seconds["samples"] = clock.lap()
        if let clusters {
            summary.clusters = try ClusterExport(model: model, dataset: dataset, arrays: a, analysis: clusters, labels: labels,
                                                 pictures: pictures, probe: probe, options: options).write(out: out)
            seconds["clusters"] = clock.lap()
        }
        if let epistemic = options.epistemic {
            guard epistemic.count == n else {
                throw ExplainError("explain: the weight samples' uncertainty covers \(epistemic.count) samples, the export \(n)")
            }
            let written = try epistemic.write(out: out, prefix: EpistemicExport.directoryName + "/", dataset: dataset, model: model,
                                              upscale: options.upscale, explained: unique)
            summary.epistemic = written
            let ranks = epistemic.ranks
            for k in summary.samples.indices {
                summary.samples[k].epistemic = epistemic.sample(summary.samples[k].index, summary: written, ranks: ranks)
            }
            seconds["epistemic"] = clock.lap()
        }
        var limeComparisons: [(index: Int, file: String, units: [Int])] = []
        if let lime {
            let export = LIMEExport(evaluations: lime, arrays: a, stats: stats, dataset: dataset, pictures: pictures,
                                    probe: probe, options: options)
            let written = try export.write(out: out, seconds: ["forward_and_gather": seconds["lime_forward_and_gather"] ?? 0])
            summary.lime = written.summary
            summary.attributionGroundTruth = written.groundTruth
            limeComparisons = written.comparisons
            seconds["lime_fit_and_files"] = clock.lap()
            seconds["lime"] = (seconds["lime_forward_and_gather"] ?? 0) + seconds["lime_fit_and_files"]!
            summary.lime?.seconds["total"] = seconds["lime"]
            log("explain: LIME median weighted R^2 of the active units' means \(NumberFormat.fixed(written.summary.medianR2ActiveMeans, 3)) in \(NumberFormat.fixed(seconds["lime"]!, 2)) s")
        }

        summary.posteriorCorrelation = try PosteriorCorrelationExport(
            model: model, dataset: dataset, options: options, probe: probe, activeDimensions: stats.activeDimensions,
            shape: shape).write(out: out, samples: unique, log: log)
        seconds["posterior_correlation"] = clock.lap()

        out.reserve("summary.json")
        if options.writeReport { out.reserve("report.html") }
        summary.files = out.files
        if options.writeReport {
            let report = ReportBuilder(summary: summary, stats: stats, arrays: a, labels: labels, options: options,
                                       datasetName: dataset.name, pngs: out.pngs, scatter: scatter, scatterDims: scatterDims,
                                       limeComparisons: limeComparisons)
            try report.build().write(to: out.path("report.html"))
        }
        seconds["report"] = clock.lap()
        summary.seconds = seconds
        try FileOutput.write(try summary.json() + "\n", to: out.path("summary.json"))
        return summary
    }

    /// Every further posterior the latent block declares, as `<name>.npy` `[samples, width]`.
    func writeExtras(_ a: PosteriorArrays, out: OutputSet) throws {
        let taken: Set<String> = ["mu", "logvar", "kl_per_dim", "neg_elbo", "recon", "neg_log_px_iwae", "labels"]
        for (e, values) in zip(a.extras, a.extraValues) {
            // The name becomes a file name: a block's typo must not write outside the export.
            guard !e.name.isEmpty, !taken.contains(e.name),
                  e.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw ExplainError("explain: the model's extra posterior \"\(e.name)\" cannot be a file name (expected letters, digits, _ or -, and none of \(taken.sorted().joined(separator: ", ")))")
            }
            try out.npy("\(e.name).npy", values, shape: [a.count, e.width])
        }
    }

    /// The `count` samples the model finds least likely: by the tighter IWAE bound when it was
    /// computed, else by -ELBO; non-finite scores first.
    static func mostAnomalous(_ a: PosteriorArrays, count: Int) -> [Int] {
        let score = a.negLogPxIWAE.isEmpty ? a.negELBO : a.negLogPxIWAE
        return Array(LatentStatistics.order(score).suffix(count).reversed())
    }

    static func scatterDimensions(_ stats: LatentStatistics) -> (Int, Int) {
        let top = stats.dimensionsByKL
        return (top[0], top.count > 1 ? top[1] : top[0])
    }

    func column(_ a: PosteriorArrays, _ j: Int) -> [Float] {
        stride(from: j, to: a.mu.count, by: a.latent).map { a.mu[$0] }
    }

    func scatterSVG(_ a: PosteriorArrays, stats: LatentStatistics, labels: [Int32]?, dims: (Int, Int)) -> SVGFragment {
        SVGChart.scatter(x: column(a, dims.0), y: column(a, dims.1), labels: labels, classNames: options.classNames,
                         title: "Posterior means: the two most informative dimensions",
                         xLabel: "z\(dims.0) (mean KL \(NumberFormat.fixed(stats.meanKL[dims.0], 2)))",
                         yLabel: "z\(dims.1) (mean KL \(NumberFormat.fixed(stats.meanKL[dims.1], 2)))",
                         maxPoints: options.scatterMaxPoints)
    }

    func className(_ label: Int) -> String {
        label >= 0 && label < options.classNames.count ? options.classNames[label] : "\(label)"
    }

    func makeSummary(_ a: PosteriorArrays, stats: LatentStatistics, labels: [Int32]?) -> ExplainSummary {
        var provenance = checkpointInfo
        if provenance["data"] == nil { provenance["data"] = dataset.name }
        provenance["data_fingerprint"] = String(dataset.fingerprint, radix: 16)
        provenance["noise_seed"] = "\(options.seed)"
        provenance["iwae_k"] = "\(options.iwaeK)"
        provenance["ranks"] = "\(ranks)"
        provenance["samples"] = "\(a.count)"
        if let t = trainSet { provenance["neighbour_data"] = t.name }
        let dims = (0..<a.latent).map {
            ExplainSummary.Dimension(dim: $0, posteriorMeanVariance: stats.posteriorMeanVariance[$0],
                                     active: stats.activeDimensions.contains($0), meanKL: stats.meanKL[$0],
                                     aggregateMean: stats.aggregateMean[$0], aggregateStd: stats.aggregateStd[$0])
        }
        func ref(_ i: Int) -> ExplainSummary.SampleRef {
            ExplainSummary.SampleRef(index: i, negELBO: Double(a.negELBO[i]),
                                     negLogPxIWAE: a.negLogPxIWAE.isEmpty ? nil : Double(a.negLogPxIWAE[i]),
                                     label: labels.map { Int($0[i]) })
        }
        let g = min(options.gallerySize, a.count)
        return ExplainSummary(
            count: a.count, latent: a.latent, ranks: ranks, provenance: provenance, iwaeK: options.iwaeK,
            activeThreshold: stats.activeThreshold, activeUnits: stats.activeUnits,
            activeDimensions: stats.activeDimensions, dimensions: dims, dimensionsByKL: stats.dimensionsByKL,
            meanNegELBO: stats.meanNegELBO, meanRecon: stats.meanRecon, meanKL: stats.meanKL.reduce(0, +),
            meanNegLogPxIWAE: stats.meanNegLogPxIWAE,
            classes: stats.classes.map {
                ExplainSummary.ClassSummary(label: $0.label, name: className($0.label), count: $0.count,
                                            meanNegELBO: $0.meanNegELBO, meanMu: $0.meanMu)
            },
            mostTypical: stats.indicesByNegELBO.prefix(g).map(ref),
            leastTypical: stats.indicesByNegELBO.suffix(g).reversed().map(ref),
            mostAnomalous: Self.mostAnomalous(a, count: g).map(ref),
            anomalyScore: a.negLogPxIWAE.isEmpty ? "neg_elbo" : "neg_log_px_iwae",
            samples: [], files: [], seconds: [:])
    }

    func writeTables(_ stats: LatentStatistics, summary: ExplainSummary, out: OutputSet) throws {
        var dims = CSVDocument(header: ["dim", "posterior_mean_variance", "active", "mean_kl", "aggregate_mean", "aggregate_std"])
        for x in summary.dimensions {
            dims.add(["\(x.dim)", NumberFormat.double(x.posteriorMeanVariance), x.active ? "1" : "0",
                      NumberFormat.double(x.meanKL), NumberFormat.double(x.aggregateMean), NumberFormat.double(x.aggregateStd)])
        }
        try out.csv("dimensions.csv", dims)

        var sorted = CSVDocument(header: ["rank", "dim", "mean_kl", "active"])
        for (r, j) in stats.dimensionsByKL.enumerated() {
            sorted.add(["\(r + 1)", "\(j)", NumberFormat.double(stats.meanKL[j]), stats.activeDimensions.contains(j) ? "1" : "0"])
        }
        try out.csv("kl_per_dim_sorted.csv", sorted)

        if !summary.classes.isEmpty {
            var classes = CSVDocument(header: ["label", "name", "count", "mean_neg_elbo"] + (0..<stats.latent).map { "mean_mu_\($0)" })
            for c in summary.classes {
                classes.add(["\(c.label)", c.name, "\(c.count)", NumberFormat.double(c.meanNegELBO)] + c.meanMu.map(NumberFormat.double))
            }
            try out.csv("classes.csv", classes)
        }

        var typical = CSVDocument(header: ["kind", "rank", "index", "neg_elbo", "neg_log_px_iwae", "label"])
        for (kind, refs) in [("most_typical", summary.mostTypical), ("least_typical", summary.leastTypical),
                             ("most_anomalous", summary.mostAnomalous)] {
            for (r, s) in refs.enumerated() {
                typical.add([kind, "\(r + 1)", "\(s.index)", NumberFormat.double(s.negELBO),
                             s.negLogPxIWAE.map(NumberFormat.double) ?? "", s.label.map { "\($0)" } ?? ""])
            }
        }
        try out.csv("typicality.csv", typical)
    }

    /// Samples for the saliency and occlusion galleries: the first of each class when there are
    /// labels (one row per class reads best), else the first few.
    func galleryIndices(labels: [Int32]?, count: Int) -> [Int] {
        let limit = min(10, options.gallerySize, count)
        guard let labels else { return Array(0..<limit) }
        var seen = Set<Int32>(), picked: [Int] = []
        for (i, l) in labels.enumerated() where !seen.contains(l) {
            seen.insert(l); picked.append(i)
            if picked.count == limit { break }
        }
        return picked
    }

    func writePictures(_ p: Pictures, arrays a: PosteriorArrays, stats: LatentStatistics, labels: [Int32]?, out: OutputSet) throws {
        let n = a.count, d = a.latent
        let g = min(options.gallerySize, n)
        func mus(_ idx: [Int]) -> [Float] { idx.flatMap { a.muRow($0) } }

        let first = Array(0..<g)
        try out.png("reconstructions.png", try p.comparison(inputs: dataset.rows(first), mu: mus(first), rows: g))

        let top = Array(stats.dimensionsByKL.prefix(min(options.topDimensions, d)))
        let centre = stats.aggregateMean.map(Float.init)
        try out.png("traversals.png", try p.traversal(base: centre, dims: top, centre: stats.aggregateMean, std: stats.aggregateStd))

        if options.priorSamples > 0 {
            try out.png("prior_samples.png", try p.priorSamples(count: options.priorSamples, seed: options.seed))
        }

        let gallery = galleryIndices(labels: labels, count: n)
        let x = dataset.rows(gallery)
        let shown = Array(top.prefix(6))
        try out.png("saliency.png", try p.saliency(inputs: x, rows: gallery.count, dims: gallery.map { _ in shown }))
        try out.png("occlusion.png", try p.occlusion(inputs: x, rows: gallery.count,
                                                     dims: gallery.map { _ in Array(top.prefix(4)) }).image)

        let dims = Self.scatterDimensions(stats)
        try out.png("latent_scatter.png", ScatterRaster.render(x: column(a, dims.0), y: column(a, dims.1), labels: labels))

        let anomalous = Self.mostAnomalous(a, count: g)
        try out.png("anomalies.png", try p.comparison(inputs: dataset.rows(anomalous), mu: mus(anomalous), rows: anomalous.count))
        let typical = Array(stats.indicesByNegELBO.prefix(g))
        try out.png("typical.png", try p.comparison(inputs: dataset.rows(typical), mu: mus(typical), rows: typical.count))
    }
}

/// Wall-clock laps for the timing section of the summary.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds
    init() {}
    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
    private let start = DispatchTime.now().uptimeNanoseconds
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
