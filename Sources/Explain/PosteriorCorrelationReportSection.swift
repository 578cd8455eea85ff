/// The report's section on a full-covariance posterior: the mean correlation of the active units
/// as a heat map, the most correlated pairs, and the principal-axis traversals of shown samples.
struct PosteriorCorrelationReportSection {
    let summary: ExplainSummary
    let pngs: [String: [UInt8]]

    func fmt(_ v: Double, _ decimals: Int = 3) -> String { v.isFinite ? NumberFormat.fixed(v, decimals) : "n/a" }

    func add(to r: inout HTMLReport) {
        guard let c = summary.posteriorCorrelation else { return }
        r.section("Posterior correlations")
        r.paragraph("The posterior q(z|x) is a Gaussian with a full covariance L Lᵀ per sample, so the encoder can say which latent dimensions it is unsure about together. Correlations are between the active units (\(c.activeDimensions.map { "z\($0)" }.joined(separator: ", "))), in that order in the heat map and in posterior_correlation.npy ([samples, units, units]); posterior_correlation_mean.npy holds the mean over every dimension.")
        r.facts([("mean |correlation| between distinct active units", fmt(c.meanAbsCorrelation)),
                 ("samples", "\(summary.count)")])
        if let png = pngs["posterior_correlation.png"] {
            r.image(png: png, alt: "mean posterior correlation of the active units",
                    caption: "Mean over the evaluation set of each sample's posterior correlation, active units in the order above (red +1, white 0, blue −1) (posterior_correlation.png).",
                    displayWidth: min(480, max(160, 12 * c.activeDimensions.count)))
        }
        r.subheading("Most correlated pairs")
        r.paragraph("By the mean of |correlation| over the samples; a mean correlation much smaller than that means the sign changes from sample to sample.")
        r.table(headers: ["rank", "pair", "mean |correlation|", "mean correlation"],
                rows: c.topPairs.enumerated().map { k, p in
                    ["\(k + 1)", "z\(p.dimA), z\(p.dimB)", fmt(p.meanAbsCorrelation), fmt(p.meanCorrelation)]
                })
        guard !c.samples.isEmpty else { return }
        r.subheading("Principal axes of shown samples")
        r.paragraph("For each sample, the eigenvectors of its posterior covariance restricted to the active units it narrows (marginal variance under half the prior's; all active units when fewer than two are), largest variance first: each row decodes mu + t·sqrt(variance)·axis for t from −2 to +2, the images the posterior holds about equally plausible for this input.")
        for s in c.samples {
            let loadings = s.axes.enumerated().map { k, v in
                let top = v.indices.sorted { abs(v[$0]) > abs(v[$1]) }.prefix(3)
                return "axis \(k + 1) (variance \(fmt(s.variances[k]))): " + top.map { "\(fmt(v[$0], 2)) z\(s.dimensions[$0])" }.joined(separator: " + ")
            }
            r.facts([("sample \(s.index)", loadings.joined(separator: "; "))])
            if let png = pngs[s.file] {
                r.image(png: png, alt: "principal axes of sample \(s.index)", caption: "Sample \(s.index): rows are its principal axes (\(s.file)).")
            }
        }
    }
}
