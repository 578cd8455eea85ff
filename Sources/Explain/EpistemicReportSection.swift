import Foundation

/// The report's section on a Bayesian model's own uncertainty: which measure ranks the samples,
/// its mean per class and how well each measure flags a class left out of training, the most and
/// least uncertain samples with their −ELBO, per-pixel maps and the weights' signal-to-noise.
struct EpistemicReportSection {
    static let heading = "The model's own uncertainty (weight samples)"

    let summary: EpistemicSummary
    let pngs: [String: [UInt8]]
    /// Where the section's files sit relative to the page ("uncertainty/" in an export).
    let prefix: String
    let classNames: [String]

    func fmt(_ v: Double?, _ decimals: Int = 3) -> String {
        guard let v, v.isFinite else { return "n/a" }
        return NumberFormat.fixed(v, decimals)
    }

    func sig(_ v: Double) -> String { v.isFinite ? String(format: "%.4g", v) : "n/a" }

    func name(_ label: Int?) -> String {
        guard let label else { return "" }
        return label >= 0 && label < classNames.count ? "\(label) \(classNames[label])" : "\(label)"
    }

    func add(to r: inout HTMLReport) {
        let s = summary
        r.section(Self.heading)
        r.paragraph("The model has a distribution over its weights. Each sample went through \(s.weightSamples) draws of the weights; how much its answers differ between draws is the model's epistemic uncertainty about it: large where it has seen little like it. The samples are ranked by one measure, the \(s.measure): \(s.measureDefinition). The other measures are shown for comparison (epistemic.npy holds them all, columns \(s.columns.joined(separator: ", "))).")
        r.facts(s.facts.filter { !$0.name.hasPrefix("measure: ") }.map { ($0.name, $0.value) } + [
            ("mean \(s.measure)", sig(s.meanUncertainty)),
            ("mean -ELBO of the \(fmt(100 * s.tailShare, 0))% most uncertain", "\(fmt(s.mostUncertainNegELBO, 2)) nats (\(s.tailCount) samples)"),
            ("mean -ELBO of the \(fmt(100 * s.tailShare, 0))% least uncertain", "\(fmt(s.leastUncertainNegELBO, 2)) nats"),
        ])

        if !s.classes.isEmpty {
            r.subheading("Uncertainty per class")
            let held = Set(s.separations.map(\.heldOut))
            r.chart(SVGChart.bars(s.classes.map { SVGChart.Bar(label: name($0.label), value: $0.mean, highlighted: held.contains($0.label)) },
                                  title: "Mean \(s.measure) per class", valueLabel: s.measure),
                    caption: held.isEmpty ? "Mean per label (class_uncertainty.csv has every measure)."
                        : "Dark bar: the class left out of training. Mean per label (class_uncertainty.csv has every measure).")
        }
        if let first = s.separations.first {
            r.subheading("Telling the held-out class \(name(first.heldOut)) from the classes it saw")
            r.paragraph("Ratio: the held-out class's mean over the mean over the other classes' samples. AUROC: the chance that a held-out sample is more uncertain than a seen one (ties count half). The first row is the ranking measure.")
            r.table(headers: ["measure", "held-out mean", "seen mean", "ratio", "AUROC"],
                    rows: s.separations.map { [$0.measure, sig($0.heldOutMean), sig($0.seenMean), fmt($0.ratio, 2), fmt($0.auroc, 3)] })
            r.table(headers: ["label", "count"] + s.separations.map(\.measure),
                    rows: first.classes.indices.map { k in
                        [name(first.classes[k].label), "\(first.classes[k].count)"] + s.separations.map { sig($0.classes[k].mean) }
                    })
        }

        if let png = pngs[prefix + "most_uncertain.png"] {
            r.subheading("Most uncertain samples")
            r.image(png: png, alt: "most uncertain samples", caption: "The \(s.mostUncertain.count) samples with the highest \(s.measure), most uncertain first (\(prefix)most_uncertain.png).")
        }
        if let png = pngs[prefix + "least_uncertain.png"] {
            r.subheading("Least uncertain samples")
            r.image(png: png, alt: "least uncertain samples", caption: "The \(s.leastUncertain.count) samples with the lowest \(s.measure), least uncertain first (\(prefix)least_uncertain.png).")
        }
        let rows = zip(s.mostUncertain, s.leastUncertain).prefix(10).enumerated().map { k, pair in
            ["\(k + 1)", "\(pair.0.index)", name(pair.0.label), sig(pair.0.uncertainty), fmt(pair.0.negELBO, 2),
             "\(pair.1.index)", name(pair.1.label), sig(pair.1.uncertainty), fmt(pair.1.negELBO, 2)]
        }
        r.table(headers: ["rank", "most uncertain #", "label", s.measure, "-ELBO", "least uncertain #", "label", s.measure, "-ELBO"], rows: rows)

        if let png = pngs[prefix + "uncertainty_maps.png"] {
            r.subheading("Per-pixel uncertainty")
            r.image(png: png, alt: "per-pixel uncertainty maps",
                    caption: "Pairs: a sample (\(s.mapped.map(String.init).joined(separator: ", "))), then the variance of each pixel of its reconstruction across the weight samples (white: none, red: the sample's largest) (\(prefix)uncertainty_maps.png).")
        }

        if !s.signalToNoise.isEmpty {
            r.subheading("Signal-to-noise of the weights")
            r.paragraph("Per weight tensor, a histogram of log10(|mu| / sigma): weights far right are pinned down by the data, weights near or below 0 are mostly noise (the prior keeps them). One SVG file each (\(prefix)snr_*.svg).")
            r.beginGroup()
            for h in s.signalToNoise { r.chart(EpistemicExport.histogramChart(h)) }
            r.endGroup()
        }
    }
}
