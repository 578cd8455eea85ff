/// The report's cluster section, for a mixture model: what each cluster is (its prototype and
/// samples from its component), who is in it (sizes, most and least typical members, label
/// make-up) and what in an input makes the model put it there (responsibility saliency).
struct ClusterReportSection {
    static let heading = "Clusters"

    let summary: ExplainSummary
    let pngs: [String: [UInt8]]

    func fmt(_ v: Double?, _ decimals: Int = 3) -> String {
        guard let v, v.isFinite else { return "" }
        return NumberFormat.fixed(v, decimals)
    }

    func labelName(_ c: ClusterSummary, _ label: Int) -> String {
        guard let values = c.labelValues, let names = c.labelNames, let j = values.firstIndex(of: label), j < names.count,
              names[j] != "\(label)" else { return "\(label)" }
        return "\(label) \(names[j])"
    }

    func add(to r: inout HTMLReport) {
        guard let c = summary.clusters else { return }
        r.section(Self.heading)
        r.paragraph("The model's prior is a mixture of \(c.count) components; q(y|x) gives each sample's responsibilities (responsibilities.npy). A sample's cluster is \(c.assignment); a cluster's size counts its samples, its soft size sums everyone's responsibility for it. Its members are ranked by their responsibility for it: the most typical are the surest, the least typical the members it barely won.")
        var facts: [(String, String)] = [
            ("clusters", "\(c.count)"),
            ("samples", "\(summary.count)" + (c.unassigned > 0 ? " (\(c.unassigned) with non-finite responsibilities, in no cluster)" : "")),
            ("empty clusters", c.emptyClusters.isEmpty ? "none" : c.emptyClusters.map(String.init).joined(separator: ", ")),
            ("largest / smallest", "\(c.sizes.max() ?? 0) / \(c.sizes.min() ?? 0) samples"),
            ("prototypes", "decoder mean at the \(c.prototypeSource == ClusterExport.meansName ? "component mean (prior.means)" : c.prototypeSource)"),
        ]
        let weighted = c.perCluster.contains { $0.priorWeight != nil }
        facts.append(("p(y)", weighted ? "learned (prior.logits)" : "uniform, 1/\(c.count) each"))
        if let a = c.accuracy { facts.append(("clustering accuracy", fmt(a) + (c.accuracyRule.map { " (\($0))" } ?? ""))) }
        if let n = c.nmi { facts.append(("NMI", fmt(n) + (c.nmiNormalization.map { " (\($0))" } ?? ""))) }
        r.facts(facts)
        r.chart(SVGChart.bars(c.perCluster.map { SVGChart.Bar(label: "\($0.cluster)", value: Double($0.size), highlighted: $0.size > 0) },
                              title: "Cluster sizes", valueLabel: "samples"),
                caption: "Samples per cluster (argmax of q(y|x)).")
        var headers = ["cluster", "size", "share", "soft size", "mean q(y|x) of members"]
        if weighted { headers.append("p(y)") }
        headers += ["majority label", "majority share", "most typical #", "least typical #"]
        let rows: [[String]] = c.perCluster.map { k in
            var row: [String] = ["\(k.cluster)", "\(k.size)", fmt(Double(k.size) / Double(max(summary.count, 1))),
                                 fmt(k.softSize, 1), fmt(k.meanResponsibility)]
            if weighted { row.append(fmt(k.priorWeight)) }
            row.append(k.majorityLabel.map { labelName(c, $0) } ?? "")
            row.append(fmt(k.majorityShare))
            row.append(k.mostTypical.prefix(4).map(String.init).joined(separator: " "))
            row.append(k.leastTypical.prefix(4).map(String.init).joined(separator: " "))
            return row
        }
        r.table(headers: headers, rows: rows)

        picture(&r, "cluster_prototypes.png", "Cluster prototypes",
                "One tile per cluster, 0 first, \(min(c.count, 10)) to a row: the decoder mean at the cluster's \(c.prototypeSource == ClusterExport.meansName ? "component mean m_k (prior.means)" : c.prototypeSource).")
        if c.samplesPerCluster > 0 {
            picture(&r, "cluster_samples.png", "Samples from each component",
                    "One row per cluster: decoder means of \(c.samplesPerCluster) codes drawn from p(z|y=k) (\(c.sampleSource ?? "")); the noise is keyed by the export seed, the cluster and the sample.")
        }
        picture(&r, "cluster_typical.png", "Most typical members",
                "One row per cluster: its members with the highest responsibility for it, surest first; an empty cluster's row is blank.")
        picture(&r, "cluster_atypical.png", "Least typical members",
                "One row per cluster: its members with the lowest responsibility for it, least sure first.")
        if pngs["cluster_saliency.png"] != nil {
            picture(&r, "cluster_saliency.png", "What makes a cluster",
                    "One row per cluster: pairs of a typical member and the gradient of its responsibility q(y=k|x) with respect to the pixels (red raises it, blue lowers it; each map scaled to its own largest magnitude).")
        } else {
            r.paragraph("Responsibility saliency: \(c.saliency).")
        }

        if let table = c.labelTable, let values = c.labelValues {
            r.subheading("Label make-up")
            let columns = values.map { labelName(c, $0) }
            let svg = ClusterLabelChart.svg(table, rowNames: c.perCluster.map { "cluster \($0.cluster) (\($0.size))" },
                                            columnNames: columns, title: "Share of each cluster's members by label")
            r.chart(svg, caption: "Rows: clusters; columns: labels; the colour is the share of the cluster's members with that label, the number their count (cluster_labels.csv, cluster_labels.svg).")
            if let png = pngs["cluster_labels.png"] {
                r.image(png: png, alt: "cluster by label heat map", caption: "The same shares as a picture (cluster_labels.png).")
            }
            r.table(headers: ["cluster", "size"] + columns,
                    rows: table.enumerated().map { k, row in ["\(k)", "\(row.reduce(0, +))"] + row.map(String.init) })
        }
    }

    func picture(_ r: inout HTMLReport, _ file: String, _ title: String, _ caption: String) {
        guard let png = pngs[file] else { return }
        r.subheading(title)
        r.image(png: png, alt: title, caption: caption + " (\(file))")
    }
}
