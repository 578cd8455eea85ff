import Datasets

/// Per-sample explanations: where one sample sits in the latent space and why.
struct SampleExplainer {
    let arrays: PosteriorArrays
    let stats: LatentStatistics
    let dataset: Dataset
    let trainSet: Dataset?
    let pictures: Pictures?
    let probe: ModelProbe
    let options: ExplainOptions
    /// A mixture model's clusters: each explanation then names its sample's cluster.
    var clusters: ClusterAnalysis? = nil

    /// Posterior means of the reference set for neighbour search: the training set encoded in
    /// bounded batches, or the evaluation set's own means.
    func referenceMeans(log: (String) -> Void) -> (mu: [Float], source: Dataset, sameAsEvaluation: Bool) {
        guard let train = trainSet else { return (arrays.mu, dataset, true) }
        var mu = [Float]()
        mu.reserveCapacity(train.count * arrays.latent)
        var start = 0
        let batch = max(options.batchSize, 256)
        while start < train.count {
            let b = min(batch, train.count - start)
            mu += probe.encode(train.rows(Array(start..<(start + b))), rows: b, firstIndex: start).mu
            start += b
        }
        log("explain: encoded \(train.count) training samples for nearest neighbours")
        return (mu, train, false)
    }

    func explain(_ index: Int, reference: (mu: [Float], source: Dataset, sameAsEvaluation: Bool),
                 output: OutputSet) throws -> ExplainSummary.SampleExplanation {
        let d = arrays.latent
        let mu = Array(arrays.muRow(index))
        let std = arrays.logvarRow(index).map { Double(_exp(0.5 * $0)) }
        let kl = arrays.klRow(index).map(Double.init)
        let top = (0..<d).sorted { (kl[$0].isNaN ? -1 : kl[$0], -$0) > (kl[$1].isNaN ? -1 : kl[$1], -$1) }
        let shown = Array(top.prefix(min(options.topDimensions, 6)))
        let label = dataset.labels.map { Int($0[index]) }

        let found = NearestNeighbours.search(query: mu[...], reference: reference.mu, latent: d, k: options.neighbours,
                                             excluding: reference.sameAsEvaluation ? index : nil)
        let referenceLabels = reference.source.labels
        let neighbours = found.map { hit in
            ExplainSummary.Neighbour(index: hit.index, distance: hit.distance,
                                     label: referenceLabels.map { Int($0[hit.index]) })
        }

        let dir = "samples/\(index)"
        try output.subdirectory(dir)
        var files: [String] = []
        var table = CSVDocument(header: ["dim", "mu", "std", "kl", "rank_by_kl"])
        let rankOf = Dictionary(uniqueKeysWithValues: top.enumerated().map { ($1, $0 + 1) })
        for j in 0..<d {
            table.add(["\(j)", NumberFormat.float(mu[j]), NumberFormat.double(std[j]), NumberFormat.double(kl[j]), "\(rankOf[j] ?? 0)"])
        }
        try output.csv("\(dir)/posterior.csv", table)
        files.append("\(dir)/posterior.csv")

        if let pictures {
            let x = dataset.rows([index])
            try output.png("\(dir)/saliency.png", try pictures.saliency(inputs: x, rows: 1, dims: [shown]))
            let occ = try pictures.occlusion(inputs: x, rows: 1, dims: [Array(shown.prefix(4))])
            try output.png("\(dir)/occlusion.png", occ.image)
            let strip = x + reference.source.rows(neighbours.map { $0.index })
            try output.png("\(dir)/neighbours.png", try pictures.strip(inputs: strip, rows: 1 + neighbours.count))
            try output.png("\(dir)/traversal.png",
                           try pictures.traversal(base: mu, dims: shown, centre: mu.map(Double.init), std: stats.aggregateStd))
            files += ["saliency", "occlusion", "neighbours", "traversal"].map { "\(dir)/\($0).png" }
        }
        var explanation = ExplainSummary.SampleExplanation(
            index: index, label: label, negELBO: Double(arrays.negELBO[index]),
            negLogPxIWAE: arrays.negLogPxIWAE.isEmpty ? nil : Double(arrays.negLogPxIWAE[index]),
            mu: mu.map(Double.init), std: std, klPerDim: kl, topDimensions: top, neighbours: neighbours,
            neighbourSource: reference.sameAsEvaluation ? "evaluation set (\(dataset.name))" : "training set (\(reference.source.name))",
            files: files)
        if let clusters, let r = arrays.extra(named: ClusterExport.extraName) {
            let k = clusters.assignment[index]
            explanation.cluster = k >= 0 ? k : nil
            explanation.responsibility = k >= 0 ? Double(clusters.responsibility[index]) : nil
            explanation.responsibilities = r.values[(index * r.width)..<((index + 1) * r.width)].map(Double.init)
        }
        return explanation
    }
}
