import Datasets
import Foundation
import VAE

/// What summary.json says about a full-covariance posterior: how correlated the active units are
/// in q(z|x), averaged over the evaluation set, and the principal axes of the shown samples.
public struct PosteriorCorrelationSummary: Codable, Equatable {
    public struct Pair: Codable, Equatable {
        public var dimA: Int
        public var dimB: Int
        /// Mean over the samples of the posterior correlation.
        public var meanCorrelation: Double
        /// Mean of its magnitude: large while the mean is small means the sign depends on the sample.
        public var meanAbsCorrelation: Double
    }
    public struct Axes: Codable, Equatable {
        public var index: Int
        /// Variances along the principal axes of the active units' posterior covariance, decreasing.
        public var variances: [Double]
        /// The units the axes span: the active units this sample's posterior narrows (marginal
        /// variance under 0.5), or every active unit when fewer than two are.
        public var dimensions: [Int]
        /// One unit vector over `dimensions` a row, in the order of `variances`.
        public var axes: [[Double]]
        public var file: String
    }
    /// The active units, in the order of the heat map and of the `.npy` arrays' last two axes.
    public var activeDimensions: [Int]
    /// Mean over samples and over the pairs of distinct active units of |correlation|.
    public var meanAbsCorrelation: Double
    /// The pairs of active units with the largest mean |correlation|, largest first.
    public var topPairs: [Pair]
    public var samples: [Axes]
}

/// The export's part for posteriors whose model gives a correlation matrix a sample
/// (`posterior_correlation` among its posterior extras): per-sample correlation matrices of the
/// active units (`posterior_correlation.npy`, `[n, a, a]`), their mean over the set as a heat map
/// and `[d, d]` array over every dimension, the most correlated pairs, and for each shown sample a
/// traversal along the principal axes of its posterior covariance. Runs on rank 0 from the model:
/// one more encoder pass over the set, which costs little next to the posterior pass's IWAE.
struct PosteriorCorrelationExport {
    static let correlationExtra = "posterior_correlation"
    static let choleskyExtra = "posterior_cholesky"
    /// Axes of a shown sample drawn as rows of its traversal.
    static let traversalAxes = 4
    static let topPairCount = 10
    /// Pixels a heat-map cell is drawn with.
    static let cellPixels = 12
    /// A unit counts as narrowed by a sample's posterior below this marginal variance.
    static let narrowedVariance = 0.5

    let model: VAEModel
    let dataset: Dataset
    let options: ExplainOptions
    let probe: ModelProbe
    let activeDimensions: [Int]
    let shape: ImageShape?

    /// Nil when the model's posterior gives no correlations (the diagonal Gaussian).
    func write(out: OutputSet, samples: [Int], log: (String) -> Void) throws -> PosteriorCorrelationSummary? {
        let extras = model.posteriorExtras
        guard let ci = extras.firstIndex(where: { $0.name == Self.correlationExtra }),
              let li = extras.firstIndex(where: { $0.name == Self.choleskyExtra }) else { return nil }
        let d = model.config.latent, n = dataset.count, D = dataset.dimension
        let active = activeDimensions
        let a = active.count
        guard a > 0 else {
            log("explain: no active units; posterior correlations skipped")
            return nil
        }

        // Per sample: the active block of its correlation matrix; over the set: sums in Double.
        var perSample = [Float](repeating: 0, count: n * a * a)
        var sum = [Double](repeating: 0, count: d * d), absSum = [Double](repeating: 0, count: d * d)
        let batch = max(1, min(options.batchSize, n))
        var x = [Float](repeating: 0, count: batch * D), r = [Float](repeating: 0, count: batch * d * d)
        var start = 0
        while start < n {
            let b = min(batch, n - start)
            x.withUnsafeMutableBufferPointer { p in
                for i in 0..<b { dataset.copySample(start + i, into: p.baseAddress! + i * D) }
            }
            x.withUnsafeBufferPointer { xp in
                r.withUnsafeMutableBufferPointer { rp in
                    probe.evaluator.posteriorExtra(ci, batch: b, input: xp.baseAddress!, into: rp.baseAddress!, firstIndex: start)
                }
            }
            for i in 0..<b {
                let m = i * d * d
                for k in 0..<(d * d) {
                    let v = Double(r[m + k])
                    sum[k] += v
                    absSum[k] += abs(v)
                }
                let o = (start + i) * a * a
                for (p, dp) in active.enumerated() {
                    for (q, dq) in active.enumerated() { perSample[o + p * a + q] = r[m + dp * d + dq] }
                }
            }
            start += b
        }
        let mean = sum.map { $0 / Double(n) }, meanAbs = absSum.map { $0 / Double(n) }
        try out.npy("posterior_correlation.npy", perSample, shape: [n, a, a])
        try out.npy("posterior_correlation_mean.npy", mean.map(Float.init), shape: [d, d])
        let block = active.flatMap { p in active.map { q in Float(mean[p * d + q]) } }
        try out.png("posterior_correlation.png",
                    try RasterImage.diverging(block, width: a, height: a, scale: 1).upscaled(by: Self.cellPixels))

        var pairs: [PosteriorCorrelationSummary.Pair] = []
        for p in 0..<a {
            for q in (p + 1)..<max(p + 1, a) {
                let k = active[p] * d + active[q]
                pairs.append(.init(dimA: active[p], dimB: active[q], meanCorrelation: mean[k], meanAbsCorrelation: meanAbs[k]))
            }
        }
        let overall = pairs.isEmpty ? 0 : pairs.reduce(0) { $0 + $1.meanAbsCorrelation } / Double(pairs.count)
        pairs.sort { $0.meanAbsCorrelation != $1.meanAbsCorrelation ? $0.meanAbsCorrelation > $1.meanAbsCorrelation
            : ($0.dimA, $0.dimB) < ($1.dimA, $1.dimB) }
        var summary = PosteriorCorrelationSummary(activeDimensions: active, meanAbsCorrelation: overall,
                                                  topPairs: Array(pairs.prefix(Self.topPairCount)), samples: [])

        for s in samples where s >= 0 && s < n {
            summary.samples.append(try principalAxes(s, choleskyIndex: li, out: out))
        }
        return summary
    }

    /// The active block of Σ = L Lᵀ, its eigenvectors, and decoded codes mu + t·sqrt(λ)·v for t in
    /// [−2, 2] along the largest few: which images the posterior holds about equally likely.
    private func principalAxes(_ s: Int, choleskyIndex: Int, out: OutputSet) throws -> PosteriorCorrelationSummary.Axes {
        let d = model.config.latent, D = dataset.dimension
        var x = [Float](repeating: 0, count: D), l = [Float](repeating: 0, count: d * d)
        x.withUnsafeMutableBufferPointer { dataset.copySample(s, into: $0.baseAddress!) }
        x.withUnsafeBufferPointer { xp in
            l.withUnsafeMutableBufferPointer { lp in
                probe.evaluator.posteriorExtra(choleskyIndex, batch: 1, input: xp.baseAddress!, into: lp.baseAddress!, firstIndex: s)
            }
        }
        let mu = probe.encode(x, rows: 1, firstIndex: s).mu
        func variance(_ j: Int) -> Double { (0...j).reduce(0.0) { $0 + Double(l[j * d + $1]) * Double(l[j * d + $1]) } }
        // The axes of largest variance over every active unit are those the posterior leaves at
        // the prior's spread for this sample, which the decoder ignores: the traversal follows
        // the units this sample's posterior has narrowed (variance under half the prior's).
        let narrowed = activeDimensions.filter { variance($0) < Self.narrowedVariance }
        let active = narrowed.count >= 2 ? narrowed : activeDimensions
        let a = active.count
        var sigma = [Double](repeating: 0, count: a * a)
        for (p, dp) in active.enumerated() {
            for (q, dq) in active.enumerated() {
                var c = 0.0
                for k in 0...min(dp, dq) { c += Double(l[dp * d + k]) * Double(l[dq * d + k]) }
                sigma[p * a + q] = c
            }
        }
        let eig = SymmetricEigen(sigma, n: a)
        let shown = min(Self.traversalAxes, a)
        let file = "samples/\(s)/principal_axes.png"
        if let shape {
            let steps = options.traversalSteps
            var z = [Float]()
            z.reserveCapacity(shown * steps * d)
            for k in 0..<shown {
                let sd = max(eig.values[k], 0).squareRoot()
                for step in 0..<steps {
                    let t = steps == 1 ? 0 : -2 + 4 * Double(step) / Double(steps - 1)
                    var code = mu
                    for (p, dp) in active.enumerated() { code[dp] += Float(t * sd * eig.vectors[k][p]) }
                    z += code
                }
            }
            let images = probe.decode(z, rows: shown * steps)
            let tiles = (0..<(shown * steps)).map {
                Optional(shape.tile(images[($0 * D)..<(($0 + 1) * D)], upscale: options.upscale))
            }
            try out.subdirectory("samples/\(s)")
            try out.png(file, try ImageGrid.compose(tiles, columns: steps))
        }
        return .init(index: s, variances: eig.values, dimensions: active, axes: Array(eig.vectors.prefix(shown)), file: shape == nil ? "" : file)
    }
}
