import Datasets
import VAE

/// The per-cluster part of the export, for a model whose latent block gives responsibilities
/// q(y|x): tables (clusters.csv, cluster_labels.csv), the label make-up as pictures, and per
/// cluster its prototype, samples from p(z|y), its most and least typical members and the
/// saliency of its responsibility.
struct ClusterExport {
    /// The extra posterior that makes a model a mixture here.
    static let extraName = "responsibilities"
    /// Prior tensors, by the names the mixture block gives them.
    static let meansName = "prior.means", logitsName = "prior.logits"
    /// A (epoch, stream) region of the counter RNG no other noise uses: epoch -2 (prior samples
    /// use -1, training and evaluation epochs >= 0); sample s of cluster k is sample index s of
    /// stream `samplesStreamBase + k`.
    static let samplesEpoch = -2
    static let samplesStreamBase = 64
    static let samplesPerCluster = 8
    /// Members whose responsibility saliency is drawn, per cluster.
    static let saliencyMembers = 3

    let model: VAEModel
    let dataset: Dataset
    let arrays: PosteriorArrays
    let analysis: ClusterAnalysis
    let labels: [Int32]?
    let pictures: Pictures?
    let probe: ModelProbe
    let options: ExplainOptions

    var membersShown: Int { max(1, min(8, options.gallerySize)) }

    func className(_ label: Int) -> String {
        label >= 0 && label < options.classNames.count ? options.classNames[label] : "\(label)"
    }

    /// Rows of a `[K, d]` prior tensor, or nil when the model has none of that shape.
    func priorRows(_ name: String) -> [Float]? {
        guard let spec = model.spec(named: name), spec.shape == [analysis.clusters, arrays.latent],
              let values = model.parameter(named: name) else { return nil }
        return Array(values)
    }

    /// The learned mixing weights softmax(prior.logits), when the prior has them.
    func priorWeights() -> [Double]? {
        guard let spec = model.spec(named: Self.logitsName), spec.shape == [analysis.clusters],
              let logits = model.parameter(named: Self.logitsName) else { return nil }
        let top = Double(logits.max() ?? 0)
        let e = logits.map { _exp(Float(Double($0) - top)) }.map(Double.init)
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    /// Each cluster's prototype code: the component mean of the prior, or, without one, the mean
    /// posterior mean of its members (zeros for an empty cluster).
    func prototypes() -> (codes: [Float], source: String) {
        if let means = priorRows(Self.meansName) { return (means, Self.meansName) }
        let d = arrays.latent
        var codes = [Float](repeating: 0, count: analysis.clusters * d)
        for (k, members) in analysis.members.enumerated() where !members.isEmpty {
            for j in 0..<d {
                let s = members.reduce(0.0) { $0 + Double(arrays.mu[$1 * d + j]) }
                codes[k * d + j] = Float(s / Double(members.count))
            }
        }
        return (codes, "member posterior means")
    }

    /// `samplesPerCluster` codes from p(z|y=k) per cluster, cluster-major, drawn by the model's
    /// prior (whatever its components' covariance), and the tensors they came from; without
    /// components of its own, around the prototypes with unit variance; nil without either.
    func componentSamples() -> (codes: [Float], source: String)? {
        let d = arrays.latent, S = Self.samplesPerCluster
        let centers = priorRows(Self.meansName)
        var z = [Float](repeating: 0, count: analysis.clusters * S * d)
        var noise = [Float](repeating: 0, count: d)
        var drawnByPrior = true
        for k in 0..<analysis.clusters {
            for s in 0..<S {
                noise.withUnsafeMutableBufferPointer {
                    NoiseGenerator.fillGaussian(seed: options.seed, epoch: Self.samplesEpoch, sampleIndex: s,
                                                stream: Self.samplesStreamBase + k, into: $0.baseAddress!, count: d)
                }
                let row = (k * S + s) * d
                if let drawn = model.priorComponentDraw(k, noise: noise) {
                    for j in 0..<d { z[row + j] = drawn[j] }
                } else if let centers {
                    drawnByPrior = false
                    for j in 0..<d { z[row + j] = centers[k * d + j] + noise[j] }
                } else {
                    return nil
                }
            }
        }
        // The tensors the draws read: the prior's, less its mixing weights.
        let source = drawnByPrior
            ? model.layout.map(\.name).filter { $0.hasPrefix("prior.") && $0 != Self.logitsName }.joined(separator: ", ")
            : "\(Self.meansName), unit variance"
        return (z, source)
    }

    func write(out: OutputSet) throws -> ClusterSummary {
        let K = analysis.clusters
        let weights = priorWeights()
        let before = out.files.count
        var perCluster: [ClusterSummary.Cluster] = []
        for k in 0..<K {
            let members = analysis.members[k]
            let meanR = members.isEmpty ? nil : members.reduce(0.0) { $0 + Double(analysis.responsibility[$1]) } / Double(members.count)
            let major = analysis.majority(k)
            perCluster.append(ClusterSummary.Cluster(
                cluster: k, size: members.count, softSize: analysis.softSizes[k], meanResponsibility: meanR,
                priorWeight: weights?[k], majorityLabel: major?.label, majorityShare: major?.share,
                mostTypical: analysis.mostTypical(k, membersShown), leastTypical: analysis.leastTypical(k, membersShown)))
        }

        var table = CSVDocument(header: ["cluster", "size", "share", "soft_size", "mean_responsibility", "prior_weight",
                                         "majority_label", "majority_share", "most_typical", "least_typical"])
        for c in perCluster {
            table.add(["\(c.cluster)", "\(c.size)", NumberFormat.double(Double(c.size) / Double(max(analysis.count, 1))),
                       NumberFormat.double(c.softSize), c.meanResponsibility.map(NumberFormat.double) ?? "",
                       c.priorWeight.map(NumberFormat.double) ?? "", c.majorityLabel.map { "\($0)" } ?? "",
                       c.majorityShare.map(NumberFormat.double) ?? "",
                       c.mostTypical.map { "\($0)" }.joined(separator: " "), c.leastTypical.map { "\($0)" }.joined(separator: " ")])
        }
        try out.csv("clusters.csv", table)

        let hasLabels = !analysis.labelTable.isEmpty
        if hasLabels {
            let names = analysis.labelValues.map(className)
            var labelsCSV = CSVDocument(header: ["cluster", "size"] + analysis.labelValues.map { "label_\($0)" })
            for k in 0..<K { labelsCSV.add(["\(k)", "\(analysis.members[k].count)"] + analysis.labelTable[k].map { "\($0)" }) }
            try out.csv("cluster_labels.csv", labelsCSV)
            try out.png("cluster_labels.png", try ClusterLabelChart.raster(analysis.labelTable))
            let svg = ClusterLabelChart.svg(analysis.labelTable, rowNames: (0..<K).map { "cluster \($0) (\(analysis.members[$0].count))" },
                                            columnNames: zip(analysis.labelValues, names).map { $1 == "\($0)" ? $1 : "\($0) \($1)" },
                                            title: "Label make-up of each cluster (share of its members)")
            try out.text("cluster_labels.svg", svg.standalone)
        }

        // The label table's columns are the labels present; an absent label has no samples, so
        // leaving its column out changes neither the matching's hits nor the entropies.
        let agreement = hasLabels && analysis.count > analysis.unassigned ? ClusterAgreement(counts: analysis.labelTable) : nil

        let (codes, prototypeSource) = prototypes()
        let samples = componentSamples()
        var saliency = "no pictures: the samples are not images"
        if let pictures {
            saliency = try writePictures(pictures, codes: codes, samples: samples?.codes, out: out)
        }
        return ClusterSummary(
            count: K, sizes: analysis.sizes, unassigned: analysis.unassigned, emptyClusters: analysis.emptyClusters,
            perCluster: perCluster,
            labelValues: hasLabels ? analysis.labelValues : nil, labelNames: hasLabels ? analysis.labelValues.map(className) : nil,
            labelTable: hasLabels ? analysis.labelTable : nil,
            accuracy: agreement?.accuracy,
            accuracyRule: agreement.map { _ in "Hungarian: the best one-to-one matching of clusters to labels (Kuhn-Munkres), share of samples whose cluster is matched to their label" },
            nmi: agreement?.nmi,
            nmiNormalization: agreement.map { _ in "arithmetic mean: I(C;Y) / ((H(C) + H(Y)) / 2)" },
            prototypeSource: prototypeSource,
            sampleSource: samples?.source,
            samplesPerCluster: samples == nil ? 0 : Self.samplesPerCluster,
            saliency: saliency, files: Array(out.files[before...]))
    }

    /// Writes the cluster pictures; returns what the saliency picture shows, or why it is absent.
    func writePictures(_ p: Pictures, codes: [Float], samples: [Float]?, out: OutputSet) throws -> String {
        let K = analysis.clusters, D = dataset.dimension, up = p.up
        func tiles(_ images: [Float], _ n: Int) -> [RasterImage?] {
            (0..<n).map { Optional(p.shape.tile(images[($0 * D)..<(($0 + 1) * D)], upscale: up)) }
        }
        try out.png("cluster_prototypes.png", try ImageGrid.compose(tiles(probe.decode(codes, rows: K), K), columns: min(K, 10)))
        if let samples {
            let n = K * Self.samplesPerCluster
            try out.png("cluster_samples.png", try ImageGrid.compose(tiles(probe.decode(samples, rows: n), n), columns: Self.samplesPerCluster))
        }
        // One row per cluster; an empty cluster's row stays blank, a small one's is ragged.
        func memberGrid(_ pick: (Int) -> [Int]) throws -> RasterImage {
            let m = membersShown
            var grid = [RasterImage?](repeating: nil, count: K * m)
            for k in 0..<K {
                let idx = pick(k)
                let x = dataset.rows(idx)
                for (c, t) in tiles(x, idx.count).enumerated() { grid[k * m + c] = t }
            }
            if grid.allSatisfy({ $0 == nil }) { grid[0] = RasterImage(width: p.shape.width * up, height: p.shape.height * up, fill: ImageGrid.borderColour) }
            return try ImageGrid.compose(grid, columns: m)
        }
        try out.png("cluster_typical.png", try memberGrid { analysis.mostTypical($0, membersShown) })
        try out.png("cluster_atypical.png", try memberGrid { analysis.leastTypical($0, membersShown) })

        guard let extra = model.posteriorExtras.firstIndex(where: { $0.name == Self.extraName }) else {
            return "none: the model has no \(Self.extraName) extra"
        }
        let m = Self.saliencyMembers
        var grid = [RasterImage?](repeating: nil, count: K * 2 * m)
        for k in 0..<K {
            let idx = analysis.mostTypical(k, m)
            guard !idx.isEmpty else { continue }
            let x = dataset.rows(idx)
            guard let g = probe.extraSaliency(x, rows: idx.count, extra: extra, component: k) else {
                return "none: the model's latent block does not differentiate its responsibilities"
            }
            for r in idx.indices {
                grid[k * 2 * m + 2 * r] = p.shape.tile(x[(r * D)..<((r + 1) * D)], upscale: up)
                grid[k * 2 * m + 2 * r + 1] = p.shape.divergingTile(g[(r * D)..<((r + 1) * D)], upscale: up)
            }
        }
        guard grid.contains(where: { $0 != nil }) else { return "none: every cluster is empty" }
        try out.png("cluster_saliency.png", try ImageGrid.compose(grid, columns: 2 * m))
        return "d q(y=k|x) / dx of the \(m) most typical members of each cluster k, through the encoder's backward pass"
    }
}
