/// The per-sample measures of epistemic uncertainty derived from T weight samples, under one
/// name each. One of them ranks the samples and drives every claim (most and least uncertain,
/// the held-out class's ratio and AUROC); the others are reported beside it for comparison.
public enum EpistemicMeasures {
    public struct Measure {
        public var name: String
        public var definition: String
        public var values: [Double]
    }

    /// The measure that ranks samples, in `evaluate`, `explain` and `train`'s export alike. Each
    /// spread alone fails one claim on Fashion-MNIST (README): the reconstruction spread is large
    /// on big bright objects the model fits well (with ankle boots held out, the 5% most
    /// uncertain fit better than the 5% least), the -ELBO spread grows with any poor fit (AUROC
    /// 0.77 for held-out boots). Their geometric mean is large only where the weights move both
    /// the picture and its likelihood, and has no scale to choose: multiplying either spread by a
    /// constant leaves every ranking, ratio and AUROC as it is.
    public static let ranking = "combined spread"

    /// A unit counts as active when the variance over the data of its (weight-averaged) posterior
    /// mean exceeds this, as in the explanation's active units.
    public static let activeThreshold = 0.01

    /// Every measure, the ranking one first. `latent` is the model's latent width.
    public static func all(_ r: EpistemicResult, latent L: Int) -> [Measure] {
        let N = r.count
        // Active units over this evaluation set, from the mean code across weight samples.
        var active: [Int] = []
        for j in 0..<L {
            var s = 0.0, q = 0.0
            for i in 0..<N { let v = r.latentMeanPerDim[i * L + j]; s += v; q += v * v }
            let n = Double(max(N, 1))
            if q / n - (s / n) * (s / n) > activeThreshold { active.append(j) }
        }
        let units = active.isEmpty ? Array(0..<L) : active
        var perActive = [Double](repeating: 0, count: N), relative = [Double](repeating: 0, count: N)
        for i in 0..<N {
            var a = 0.0, rel = 0.0
            for j in units {
                a += r.latentSpreadPerDim[i * L + j]
                rel += r.latentSpreadPerDim[i * L + j] / Swift.max(r.posteriorVariancePerDim[i * L + j], 1e-30)
            }
            perActive[i] = a / Double(units.count)
            relative[i] = rel / Double(units.count)
        }
        let normalized = zip(r.reconSpread, r.reconPredictiveVariance).map { $1 > 0 ? $0 / $1 : 0 }
        let combined = zip(r.reconSpread, r.elboSpread).map { ($0 * $1).squareRoot() }
        var list = [
            Measure(name: "combined spread", definition: "the geometric mean of the reconstruction spread and the -ELBO spread, sqrt(mean pixel variance x standard deviation of the -ELBO) across weight samples",
                    values: combined),
            Measure(name: "reconstruction spread", definition: "the mean over pixels of the variance of the reconstruction (the decoder mean at the posterior mean) across weight samples",
                    values: r.reconSpread),
            Measure(name: "-ELBO spread", definition: "the standard deviation of the sample's -ELBO across weight samples", values: r.elboSpread),
            Measure(name: "latent spread", definition: "the mean over latent dimensions of the variance of the posterior mean across weight samples",
                    values: r.latentSpread),
            Measure(name: "active-unit latent spread", definition: "the mean over the \(units.count) active units of the variance of the posterior mean across weight samples",
                    values: perActive),
            Measure(name: "relative latent spread", definition: "the mean over the \(units.count) active units of the variance of the posterior mean across weight samples over the posterior's own variance",
                    values: relative),
            Measure(name: "normalized reconstruction spread", definition: "the reconstruction spread over the mean over pixels of pbar (1 - pbar), pbar the pixel's mean across weight samples",
                    values: normalized),
        ]
        if r.reconMutualInformation.contains(where: { $0 > 0 }) {
            list.append(Measure(name: "pixel information", definition: "the mutual information between the Bernoulli pixels and the weights, the sum over pixels of H(pbar) - mean over weight samples of H(p), in nats",
                                values: r.reconMutualInformation))
        }
        if let k = list.firstIndex(where: { $0.name == ranking }), k > 0 { list.insert(list.remove(at: k), at: 0) }
        return list
    }
}
