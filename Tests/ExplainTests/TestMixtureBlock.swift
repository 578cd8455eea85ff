import Foundation
@testable import VAE

/// A latent block with cluster responsibilities, for testing the export before (and apart from)
/// the real mixture model: the diagonal Gaussian of the VAE, plus a mixture of K Gaussians that
/// read its posterior mean, q(y=k|x) ∝ π_k N(mu(x); m_k, diag exp(lv_k)), from tensors named as
/// the mixture block names them (`prior.means`, `prior.logvars`, `prior.logits`). Training and
/// the ELBO are the Gaussian's; the mixture only feeds the export, so its tensors get zero
/// gradients.
struct TestMixtureBlock: LatentBlock {
    let gaussian: DiagonalGaussian
    let clusters: Int
    var differentiable = true
    private var params: UnsafeMutablePointer<Float>?
    private var grads: UnsafeMutablePointer<Float>?

    init(latent: Int, clusters: Int, differentiable: Bool = true) {
        gaussian = DiagonalGaussian(latent: latent)
        self.clusters = clusters
        self.differentiable = differentiable
    }

    /// A model around this block; `config.variant` stays the VAE's, as no checkpoint is written.
    static func model(config: ModelConfig, clusters: Int, seed: UInt64, differentiable: Bool = true) -> VAEModel {
        VAEModel(config: config, seed: seed,
                 latentBlock: TestMixtureBlock(latent: config.latent, clusters: clusters, differentiable: differentiable))
    }

    var latent: Int { gaussian.latent }
    var headWidth: Int { gaussian.headWidth }
    var noiseWidth: Int { gaussian.noiseWidth }
    var lossTermNames: [String] { gaussian.lossTermNames }
    func headParameters(inDim: Int) -> [ParameterDeclaration] { gaussian.headParameters(inDim: inDim) }

    var blockParameters: [ParameterDeclaration] {
        let K = clusters, d = latent
        // Component means spread wider than an untrained encoder's codes, so the responsibilities
        // are neither uniform nor all one-hot.
        return [ParameterDeclaration(name: "prior.means", shape: [K, d], initialization: .normal(std: 0.3)),
                ParameterDeclaration(name: "prior.logvars", shape: [K, d], initialization: .constant(-2)),
                ParameterDeclaration(name: "prior.logits", shape: [K], initialization: .normal(std: 0.5))]
    }

    func bound(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) -> any LatentBlock {
        var b = self
        b.params = parameters
        b.grads = gradients
        return b
    }

    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into dst: UnsafeMutablePointer<Float>) {
        gaussian.fillNoise(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: stream, into: dst)
    }
    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int,
                terms: inout LossTerms, first: Int) {
        gaussian.sample(heads: heads, noise: noise, z: z, rows: rows, terms: &terms, first: first)
    }
    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale: Float,
                  headBiasGradient: UnsafeMutablePointer<Float>) {
        gaussian.backward(heads: heads, noise: noise, z: z, dz: dz, dheads: dheads, rows: rows, termScale: termScale,
                          headBiasGradient: headBiasGradient)
        if let grads { grads.update(repeating: 0, count: clusters * (2 * latent + 1)) }
    }
    func evaluationSample(head: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
                          terms: inout LossTerms, first: Int) {
        gaussian.evaluationSample(head: head, noise: noise, z: z, terms: &terms, first: first)
    }
    var importanceScratchWidth: Int { gaussian.importanceScratchWidth }
    func prepareImportance(head: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Double {
        gaussian.prepareImportance(head: head, scratch: scratch)
    }
    func importanceLogRatio(head: UnsafePointer<Float>, scratch: UnsafePointer<Float>, constant: Double,
                            noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) -> Double {
        gaussian.importanceLogRatio(head: head, scratch: scratch, constant: constant, noise: noise, z: z)
    }
    func priorComponentDraw(_ k: Int, noise: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) -> Bool {
        guard let params, k >= 0, k < clusters else { return false }
        let d = latent
        for j in 0..<d { z[j] = params[k * d + j] + Foundation.exp(0.5 * params[clusters * d + k * d + j]) * noise[j] }
        return true
    }
    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>) {
        gaussian.perDimensionTerm(heads: heads, rows: rows, into: into)
    }
    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>) {
        gaussian.posteriorMeans(heads: heads, rows: rows, into: into)
    }
    func posteriorLogVariances(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>) {
        gaussian.posteriorLogVariances(heads: heads, rows: rows, into: into)
    }
    func meanHeadIndex(dimension: Int) -> Int { dimension }

    var posteriorExtras: [PosteriorExtra] { [PosteriorExtra(name: "responsibilities", width: clusters)] }

    /// Responsibilities of one head row (softmax in Double), and the per-component
    /// d log N(mu; m_k, σ_k²) / d mu, `[K, d]`, for the gradient.
    private func responsibilities(_ mu: UnsafePointer<Float>) -> (r: [Double], g: [Double]) {
        let K = clusters, d = latent
        let means = params!, logvars = params! + K * d, logits = params! + 2 * K * d
        var a = [Double](repeating: 0, count: K), g = [Double](repeating: 0, count: K * d)
        for k in 0..<K {
            var s = Double(logits[k])
            for j in 0..<d {
                let lv = Double(logvars[k * d + j]), diff = Double(mu[j]) - Double(means[k * d + j])
                s -= 0.5 * (lv + diff * diff * Foundation.exp(-lv))
                g[k * d + j] = -diff * Foundation.exp(-lv)
            }
            a[k] = s
        }
        let top = a.max()!
        let e = a.map { Foundation.exp($0 - top) }
        let total = e.reduce(0, +)
        return (e.map { $0 / total }, g)
    }

    func posteriorExtra(_ index: Int, heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(index == 0)
        for row in 0..<rows {
            let r = responsibilities(heads + row * headWidth).r
            for k in 0..<clusters { out[row * clusters + k] = Float(r[k]) }
        }
    }

    /// d r_c / d mu_j = r_c (g_cj − Σ_k r_k g_kj); the log-variance head does not enter q(y|x).
    func extraGradient(_ index: Int, component c: Int, heads: UnsafePointer<Float>, rows: Int,
                       into dheads: UnsafeMutablePointer<Float>) -> Bool {
        guard differentiable else { return false }
        let K = clusters, d = latent, H = headWidth
        for row in 0..<rows {
            let (r, g) = responsibilities(heads + row * H)
            let o = dheads + row * H
            o.update(repeating: 0, count: H)
            for j in 0..<d {
                var mean = 0.0
                for k in 0..<K { mean += r[k] * g[k * d + j] }
                o[j] = Float(r[c] * (g[c * d + j] - mean))
            }
        }
        return true
    }
}
