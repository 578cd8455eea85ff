/// The report's LIME section: settings, local fidelity, the three attribution methods side by
/// side for the same samples, their rank agreement and, on data with known factors, how much of
/// each unit's attribution each method puts where the unit's factor acts.
struct LIMEReportSection {
    let summary: ExplainSummary
    let comparisons: [(index: Int, file: String, units: [Int])]
    let pngs: [String: [UInt8]]
    let classNames: [String]

    func fmt(_ v: Double?, _ decimals: Int = 3) -> String {
        guard let v, v.isFinite else { return "n/a" }
        return NumberFormat.fixed(v, decimals)
    }

    func add(to r: inout HTMLReport) {
        guard let lime = summary.lime else { return }
        r.section("Local surrogates (LIME)")
        r.paragraph("For each explained sample, \(lime.perturbations) perturbations switch its segments (\(lime.segmentation)) on or off, each kept with probability 1/2 (the first perturbation is the sample itself); a switched-off segment takes the values of the baseline (\(lime.baseline)). The posterior's answers to every perturbation are fitted by a weighted ridge regression on the on/off pattern (penalty \(fmt(lime.ridge, 2)), kernel \(lime.kernel), width \(fmt(lime.kernelWidth, 2))). A segment's weight is how much keeping it rather than the baseline moves the target; the weighted R^2 says how well the linear surrogate follows the model near the sample.")
        r.paragraph("Caution: explaining the reconstruction error (or the -ELBO, of which it is the main part) mostly finds where the pixels are dark or bright, because replacing pixels changes the likelihood by itself, whatever the model has learned. The KL and the latent means describe what the encoder responds to; prefer them.")
        var facts = [("median weighted R^2, active units' means", fmt(lime.medianR2ActiveMeans)),
                     ("median weighted R^2, KL", fmt(lime.medianR2KL)),
                     ("median weighted R^2, reconstruction error", fmt(lime.medianR2Recon))]
        if let total = lime.seconds["total"] {
            facts.append(("time", "\(fmt(total, 2)) s of the export's \(fmt(summary.seconds["total"], 2)) s"))
        }
        if let c = lime.rankCorrelation {
            facts.append(("rank correlation, saliency vs occlusion", fmt(c.saliencyOcclusion)))
            facts.append(("rank correlation, saliency vs LIME", fmt(c.saliencyLime)))
            facts.append(("rank correlation, occlusion vs LIME", fmt(c.occlusionLime)))
        }
        r.facts(facts)
        if lime.rankCorrelation != nil {
            r.paragraph("Rank correlations are Spearman's, between the segments ranked by the size of each method's attribution summed over the segment, median over \(lime.rankCorrelation!.pairs) sample and active-unit pairs.")
        }

        if let truth = summary.attributionGroundTruth, !truth.isEmpty {
            r.subheading("Against the known factors")
            r.paragraph("Each active unit is matched to the factor its posterior mean correlates with most over the evaluation set; the share is the part of the unit's total absolute attribution, pooled over the explained samples, that falls inside that factor's square. 1 means the method points at the factor's pixels only.")
            let methods = ["saliency", "occlusion", "lime"].filter { truth[$0] != nil }
            let units = truth[methods[0]]!.units
            var rows: [[String]] = units.enumerated().map { k, u in
                ["z\(u.dim)", u.factorName, fmt(u.correlation)] + methods.map { fmt(truth[$0]!.units[k].share) }
            }
            rows.append(["minimum", "", ""] + methods.map { fmt(truth[$0]!.minShare) })
            rows.append(["mean", "", ""] + methods.map { fmt(truth[$0]!.meanShare) })
            r.table(headers: ["unit", "factor", "correlation"] + methods.map { "share inside, \($0)" }, rows: rows)
        }

        r.subheading("Saliency, occlusion and LIME side by side")
        r.paragraph("Each picture: first row the input, then LIME's segment weights for the sample's most informative active units and for its KL and reconstruction error (red: keeping the segment raises the target, blue: lowers it; grey lines outline the segments); second row the gradient saliency of the same units; third row occlusion (red: the patch's content raises the unit). Every map is scaled to its own largest magnitude.")
        let fits = Dictionary(uniqueKeysWithValues: lime.samples.map { ($0.index, $0) })
        for c in comparisons {
            guard let png = pngs[c.file], let fit = fits[c.index] else { continue }
            let label = fit.label.map { " (label \($0 >= 0 && $0 < classNames.count ? classNames[$0] : "\($0)"))" } ?? ""
            let r2 = c.units.map { u in "z\(u) " + fmt(fit.targets.first { $0.latentDimension == u }?.r2) }
            let whole = fit.targets.filter { $0.latentDimension == nil }.map { "\($0.target) " + fmt($0.r2) }
            r.image(png: png, alt: "attributions of sample \(c.index)",
                    caption: "Sample \(c.index)\(label): columns \((c.units.map { "z\($0)" } + fit.targets.filter { $0.latentDimension == nil }.map(\.target)).joined(separator: ", ")); R^2 \((r2 + whole).joined(separator: ", ")) (\(c.file))")
        }
        r.table(headers: ["sample", "label", "segments", "median R^2 of active means", "R^2 KL", "R^2 recon"],
                rows: lime.samples.map { s in
                    let means = s.targets.filter { $0.latentDimension != nil }.map(\.r2).filter(\.isFinite).sorted()
                    let median = means.isEmpty ? nil : Spearman.median(means)
                    return ["\(s.index)", s.label.map { "\($0)" } ?? "", "\(s.segments)", fmt(median),
                            fmt(s.targets.first { $0.target == "kl" }?.r2), fmt(s.targets.first { $0.target == "recon" }?.r2)]
                })
    }
}
