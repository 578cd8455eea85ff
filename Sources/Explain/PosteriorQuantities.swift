import VAE

/// One scalar the model gives for an input, that an attribution method can explain.
public struct PosteriorTarget: Codable, Equatable {
    /// File-safe name: `mu_3`, `kl`, `recon`, later e.g. `responsibility`, `epistemic`.
    public var name: String
    /// What it is, for the report.
    public var meaning: String
    /// The latent unit whose posterior mean this is; nil for whole-sample quantities. Only
    /// active units' means are explained (an inactive one does not respond to anything).
    public var latentDimension: Int?

    public init(name: String, meaning: String, latentDimension: Int? = nil) {
        self.name = name
        self.meaning = meaning
        self.latentDimension = latentDimension
    }
}

/// The quantities the posterior gives for a batch of inputs: what LIME explains. A model variant
/// adds its own targets (a mixture's responsibility of the sample's cluster, a Bayesian model's
/// epistemic uncertainty) by conforming to this, with no change to the explanation code.
public protocol PosteriorQuantities: AnyObject {
    var inputDim: Int { get }
    var targets: [PosteriorTarget] { get }
    /// Every target for `rows` inputs (`rows x inputDim`, row-major) into `out`
    /// (`rows x targets.count`, row-major). The same rows in the same batch must give the same
    /// bits on every call: the explanation relies on it for its independence from rank counts.
    func evaluate(rows: Int, input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>)
}

/// The diagonal-Gaussian VAE: each latent unit's posterior mean, the KL of q(z|x) from the prior,
/// and the reconstruction error -log p(x | z = mu) at the posterior mean (no sampling noise, so a
/// perturbation's answer is a function of the input alone).
public final class VAEPosteriorQuantities: PosteriorQuantities {
    public let inputDim: Int
    public let targets: [PosteriorTarget]
    private let evaluator: Evaluator
    private let latent: Int
    private var mu: [Float]
    private var logvar: [Float]
    private let zeros: [Float]
    /// Rows per evaluator call: the size of the buffers above.
    private let maxBatch: Int

    public init(model: VAEModel, maxBatch: Int) {
        inputDim = model.config.inputDim
        latent = model.config.latent
        self.maxBatch = max(1, maxBatch)
        evaluator = Evaluator(model: model)
        mu = [Float](repeating: 0, count: maxBatch * latent)
        logvar = mu
        zeros = mu
        targets = (0..<model.config.latent).map {
            PosteriorTarget(name: "mu_\($0)", meaning: "posterior mean of z\($0)", latentDimension: $0)
        } + [
            PosteriorTarget(name: "kl", meaning: "KL(q(z|x) || p(z)), nats"),
            PosteriorTarget(name: "recon", meaning: "reconstruction error -log p(x | z = mu), nats"),
        ]
    }

    public func evaluate(rows: Int, input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let T = targets.count, L = latent
        var start = 0
        while start < rows {
            let b = min(maxBatch, rows - start)
            let x = input + start * inputDim
            mu.withUnsafeMutableBufferPointer { m in
                logvar.withUnsafeMutableBufferPointer { l in
                    evaluator.encode(batch: b, input: x, mu: m.baseAddress!, logvar: l.baseAddress!)
                }
            }
            // eps = 0 puts z at the posterior mean: KL analytic, reconstruction deterministic.
            let evals = zeros.withUnsafeBufferPointer { e in
                evaluator.evaluate(batch: b, input: x, eps: e.baseAddress!, iwaeEps: nil, iwaeK: 0)
            }
            for r in 0..<b {
                let o = out + (start + r) * T
                for j in 0..<L { o[j] = mu[r * L + j] }
                o[L] = Float(evals[r].kl)
                o[L + 1] = Float(evals[r].recon)
            }
            start += b
        }
    }
}
