/// Composes report.html from the summary and the pictures already encoded.
struct ReportBuilder {
    let summary: ExplainSummary
    let stats: LatentStatistics
    let arrays: PosteriorArrays
    let labels: [Int32]?
    let options: ExplainOptions
    let datasetName: String
    let pngs: [String: [UInt8]]
    let scatter: SVGFragment
    let scatterDims: (Int, Int)
    var limeComparisons: [(index: Int, file: String, units: [Int])] = []

    func fmt(_ v: Double, _ decimals: Int = 2) -> String { NumberFormat.fixed(v, decimals) }

    func name(_ label: Int?) -> String {
        guard let label else { return "" }
        return label >= 0 && label < options.classNames.count ? "\(label) \(options.classNames[label])" : "\(label)"
    }

    func build() -> HTMLReport {
        var r = HTMLReport(title: "What the latent space learned: \(datasetName)")
        overview(&r)
        if let path = options.runMetricsPath { RunSection.add(to: &r, metricsPath: path) }
        dimensions(&r)
        picture(&r, "reconstructions.png", section: "Reconstructions",
                caption: "Rows in pairs: originals (first \(min(options.gallerySize, summary.count)) samples), then the decoder mean at each posterior mean.")
        picture(&r, "traversals.png", section: "Latent traversals",
                caption: "One row per most informative dimension (by mean KL: \(stats.dimensionsByKL.prefix(options.topDimensions).map { "z\($0)" }.joined(separator: ", "))). Columns move that coordinate from -2 to +2 standard deviations of the aggregate posterior around its mean; every other coordinate stays at the aggregate mean.")
        picture(&r, "prior_samples.png", section: "Samples from the prior",
                caption: "Decoder means of z drawn from N(0, I).")
        picture(&r, "saliency.png", section: "Saliency",
                caption: "Each row: an input, then the gradient of the posterior mean of a top dimension (\(stats.dimensionsByKL.prefix(6).map { "z\($0)" }.joined(separator: ", "))) with respect to the pixels. Red pixels raise it, blue lower it; each map is scaled to its own largest magnitude.")
        picture(&r, "occlusion.png", section: "Occlusion attribution",
                caption: "Each row: an input; how far the whole posterior mean moves when a \(options.occlusionPatch)x\(options.occlusionPatch) patch is set to grey (white: not at all, red: most); then the signed change of \(stats.dimensionsByKL.prefix(4).map { "z\($0)" }.joined(separator: ", ")) (red: up, blue: down, shared scale per row).")
        latentScatter(&r)
        classes(&r)
        ClusterReportSection(summary: summary, pngs: pngs).add(to: &r)
        if let e = summary.epistemic {
            EpistemicReportSection(summary: e, pngs: pngs, prefix: EpistemicExport.directoryName + "/", classNames: options.classNames)
                .add(to: &r)
        }
        typicality(&r)
        samples(&r)
        LIMEReportSection(summary: summary, comparisons: limeComparisons, pngs: pngs, classNames: options.classNames).add(to: &r)
        PosteriorCorrelationReportSection(summary: summary, pngs: pngs).add(to: &r)
        r.section("Files")
        r.paragraph("Written next to this report (numpy reads the .npy arrays; summary.json holds every figure above):")
        r.table(headers: ["file"], rows: summary.files.map { [$0] })
        return r
    }

    func overview(_ r: inout HTMLReport) {
        r.section("Overview")
        var facts: [(String, String)] = summary.provenance.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        facts.append(("latent dimensions", "\(summary.latent)"))
        facts.append(("active units", "\(summary.activeUnits) of \(summary.latent) (variance of the posterior mean > \(summary.activeThreshold))"))
        facts.append(("mean -ELBO", "\(fmt(summary.meanNegELBO)) nats (reconstruction \(fmt(summary.meanRecon)), KL \(fmt(summary.meanKL)))"))
        if let iwae = summary.meanNegLogPxIWAE { facts.append(("mean -log p(x), IWAE K=\(summary.iwaeK)", "\(fmt(iwae)) nats")) }
        r.facts(facts)
    }

    func dimensions(_ r: inout HTMLReport) {
        r.section("Latent dimensions")
        let active = Set(summary.activeDimensions)
        let kl = stats.dimensionsByKL.map { SVGChart.Bar(label: "z\($0)", value: stats.meanKL[$0], highlighted: active.contains($0)) }
        r.chart(SVGChart.bars(kl, title: "Mean KL per dimension, sorted", valueLabel: "nats"),
                caption: "Dark bars: active units. A dimension the encoder ignores costs no KL.")
        let variance = (0..<summary.latent).map {
            SVGChart.Bar(label: "z\($0)", value: stats.posteriorMeanVariance[$0], highlighted: active.contains($0))
        }
        r.chart(SVGChart.bars(variance, title: "Variance of the posterior mean over the data", valueLabel: "variance",
                              threshold: stats.activeThreshold),
                caption: "The dashed line is the active-unit threshold \(stats.activeThreshold).")
        r.table(headers: ["rank", "dim", "mean KL", "var of mean", "active", "aggregate mean", "aggregate std"],
                rows: stats.dimensionsByKL.enumerated().map { k, j in
                    ["\(k + 1)", "z\(j)", fmt(stats.meanKL[j], 3), fmt(stats.posteriorMeanVariance[j], 4), active.contains(j) ? "yes" : "no",
                     fmt(stats.aggregateMean[j], 3), fmt(stats.aggregateStd[j], 3)]
                })
    }

    func picture(_ r: inout HTMLReport, _ file: String, section: String, caption: String) {
        guard let png = pngs[file] else { return }
        r.section(section)
        r.image(png: png, alt: section, caption: caption + " (\(file))")
    }

    func latentScatter(_ r: inout HTMLReport) {
        r.section("Latent space")
        r.chart(scatter, caption: "Posterior means of up to \(options.scatterMaxPoints) samples on z\(scatterDims.0) and z\(scatterDims.1), coloured by label. All \(summary.count) points are in latent_scatter.png.")
        if let png = pngs["latent_scatter.png"] {
            r.image(png: png, alt: "latent scatter, every sample", caption: "Every sample (latent_scatter.png); grey lines mark zero.")
        }
    }

    func classes(_ r: inout HTMLReport) {
        guard !summary.classes.isEmpty else { return }
        r.section("Classes")
        let top = Array(stats.dimensionsByKL.prefix(min(6, summary.latent)))
        r.table(headers: ["label", "count", "mean -ELBO"] + top.map { "mean z\($0)" },
                rows: summary.classes.map { c in
                    [name(c.label), "\(c.count)", fmt(c.meanNegELBO)] + top.map { fmt(c.meanMu[$0], 3) }
                })
    }

    func typicality(_ r: inout HTMLReport) {
        r.section("Typical and anomalous samples")
        if let png = pngs["typical.png"] {
            r.image(png: png, alt: "most typical", caption: "Lowest -ELBO: originals over reconstructions (typical.png).")
        }
        if let png = pngs["anomalies.png"] {
            let by = summary.meanNegLogPxIWAE == nil ? "-ELBO" : "IWAE -log p(x)"
            r.image(png: png, alt: "most anomalous", caption: "Highest \(by): originals over reconstructions (anomalies.png).")
        }
        let iwae = summary.anomalyScore == "neg_log_px_iwae"
        let rows = zip(summary.mostTypical, summary.mostAnomalous).prefix(10).enumerated().map { k, pair in
            ["\(k + 1)", "\(pair.0.index)", name(pair.0.label), fmt(pair.0.negELBO), "\(pair.1.index)", name(pair.1.label),
             fmt(iwae ? pair.1.negLogPxIWAE ?? .nan : pair.1.negELBO)]
        }
        r.table(headers: ["rank", "typical #", "label", "-ELBO", "anomalous #", "label", iwae ? "-log p(x), IWAE" : "-ELBO"], rows: rows)
    }

    func samples(_ r: inout HTMLReport) {
        guard !summary.samples.isEmpty else { return }
        r.section("Per-sample explanations")
        for s in summary.samples {
            r.subheading("Sample \(s.index)" + (s.label.map { " (label \(name($0)))" } ?? ""))
            var facts = [("-ELBO", fmt(s.negELBO))]
            if let w = s.negLogPxIWAE { facts.append(("-log p(x), IWAE", fmt(w))) }
            if let k = s.cluster, let q = s.responsibility {
                var line = "\(k) (q(y=\(k)|x) = \(fmt(q, 3)))"
                if let all = s.responsibilities, all.count > 1 {
                    let others = all.indices.filter { $0 != k }.sorted { (all[$0], -$0) > (all[$1], -$1) }
                    line += "; next \(others[0]) (\(fmt(all[others[0]], 3)))"
                }
                facts.append(("cluster", line))
            }
            if let e = s.epistemic, let all = summary.epistemic {
                facts.append(("epistemic uncertainty",
                              "\(all.measure) \(String(format: "%.4g", e.uncertainty)), rank \(e.rank) of \(all.count) (1: most uncertain); "
                              + e.measures.dropFirst().map { "\($0.name) \($0.value)" }.joined(separator: ", ")))
            }
            facts.append(("top dimensions by KL", s.topDimensions.prefix(6).map { "z\($0) (\(fmt(s.klPerDim[$0])))" }.joined(separator: ", ")))
            r.facts(facts)
            r.chart(SVGChart.intervals(centres: s.mu, halfWidths: s.std.map { 2 * $0 }, labels: (0..<s.mu.count).map { "z\($0)" },
                                       title: "Posterior mean ± 2 std per dimension", valueLabel: "z"))
            r.chart(SVGChart.bars(s.topDimensions.map { SVGChart.Bar(label: "z\($0)", value: s.klPerDim[$0], highlighted: true) },
                                  title: "KL per dimension, sorted", valueLabel: "nats"))
            if let q = s.responsibilities {
                r.chart(SVGChart.bars(q.enumerated().map { SVGChart.Bar(label: "\($0)", value: $1, highlighted: $0 == s.cluster) },
                                      title: "Responsibilities q(y|x) per cluster", valueLabel: "q(y|x)"))
            }
            r.beginGroup()
            for (file, caption) in [("saliency", "input, then d mu / d x for its top dimensions"),
                                    ("occlusion", "input, posterior change per occluded patch, then per top dimension"),
                                    ("traversal", "its own code, top dimensions moved over ±2 aggregate std"),
                                    ("neighbours", "the sample, then its nearest neighbours in latent space"),
                                    ("uncertainty", "the sample, then each pixel's reconstruction variance across weight samples")] {
                if let png = pngs["samples/\(s.index)/\(file).png"] { r.image(png: png, alt: "\(file) of sample \(s.index)", caption: caption) }
            }
            r.endGroup()
            r.paragraph("Nearest neighbours from the \(s.neighbourSource):")
            r.table(headers: ["rank", "index", "label", "distance"],
                    rows: s.neighbours.enumerated().map { ["\($0 + 1)", "\($1.index)", name($1.label), fmt($1.distance, 3)] })
        }
    }
}
