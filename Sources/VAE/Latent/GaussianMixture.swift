import Foundation
import Linalg

/// The GMVAE's latent block, VaDE's formulation: q(z|x) = N(mu, diag exp(logvar)) from the same
/// `[mu | logvar]` head as the VAE, a uniform p(y) over K clusters, p(z|y) = N(m_y, Σ_y) with
/// learned `prior.means` `[K, latent]` and a covariance of the `Components` family (diagonal:
/// `prior.logvars` `[K, latent]`; full: `prior.precision_cholesky`), and q(y|x) = p(y|z), the
/// exact posterior of the mixture at the sampled z.
///
/// Why this formulation: with q(y|x) = p(y|z) the sum over y of the ELBO collapses to
/// log p(z) = logsumexp_y (log p(y) + log N(z; m_y, v_y)), so y is marginalized exactly (a sum over
/// the K components, no relaxed sample, no temperature to anneal), the objective's gradient is the
/// mixture's score at z (the responsibilities' own gradients cancel: they are the optimum of the y
/// part), and the IWAE bound of the same model is the VAE's with log p(z) replaced by the mixture's.
/// A separate softmax head q(y|x) (the alternative) adds a second encoder output that must learn
/// to agree with the prior; Gumbel-softmax adds variance and a schedule. z does not condition on
/// y, so the encoder, the head and the export's codes are the VAE's, and the cluster of a sample
/// is read off its code.
///
/// The −ELBO splits into `kl_z` = E_q log q(z|x) − Σ_y q(y|x) log p(z|y) (entropy analytic, the
/// cross term at the sample) and `kl_y` = KL(q(y|x) ‖ p(y)); their sum is −log p(z) + E_q log q(z|x).
///
/// Against the known failure modes (one cluster taking everything, clusters left empty) the
/// training objective adds `balance` · KL(q̄(y) ‖ uniform) on the batch's mean responsibilities,
/// as a sum over rows (B · KL), scaled like the block's terms. It is not part of the ELBO and is
/// not reported among its terms. q̄ must be the *global* batch's mean, so `sample` writes this
/// rank's Σ_rows q(y|x) to `batchStatistics` and the trainer sums them across ranks in place
/// before `backward` reads them (their sum is the global batch's row count).
///
/// All components start identical (means 0, unit covariance): they then get identical
/// gradients and stay identical, so the model trains as a VAE with a learned Gaussian prior until
/// the trainer fits the mixture to the encoder's means (`MixtureFit`), which breaks the symmetry.
struct GaussianMixture<Components: MixtureComponents>: LatentBlock {
    let latent: Int
    let clusters: Int
    let balance: Float
    /// The components' tensors (`prior.means` first), bound with the block.
    private let components: Components
    private let priorGradient: UnsafeMutablePointer<Float>?
    /// Floats of the components' tensors (counted once: `backward` must not allocate).
    private let priorCount: Int
    /// K floats: this rank's Σ_rows q(y|x) after `sample`, the global batch's once reduced.
    let statistics: FloatBuffer?
    /// Per-row scratch of K floats for the responsibilities and their gradient.
    private let scratch: FloatBuffer?

    init(latent: Int, clusters: Int, balance: Float) {
        self.latent = latent
        self.clusters = clusters
        self.balance = balance
        components = Components(latent: latent, clusters: clusters)
        priorCount = components.declarations.reduce(0) { $0 + $1.shape.reduce(1, *) }
        priorGradient = nil
        statistics = nil
        scratch = nil
    }

    private init(_ other: GaussianMixture, parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        latent = other.latent
        clusters = other.clusters
        balance = other.balance
        components = other.components.bound(to: UnsafePointer(parameters))
        priorCount = other.priorCount
        priorGradient = gradients
        statistics = FloatBuffer(count: other.clusters)
        scratch = FloatBuffer(count: 3 * other.clusters)
    }

    var headWidth: Int { 2 * latent }
    var noiseWidth: Int { latent }
    var lossTermNames: [String] { ["kl_z", "kl_y"] }

    /// q(z|x) is the VAE's diagonal Gaussian: same head, noise, importance state and posterior
    /// read-outs; only the prior and its terms are the mixture's.
    private var gaussian: DiagonalGaussian { DiagonalGaussian(latent: latent) }

    func headParameters(inDim: Int) -> [ParameterDeclaration] { gaussian.headParameters(inDim: inDim) }

    var blockParameters: [ParameterDeclaration] { components.declarations }

    func bound(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) -> any LatentBlock {
        GaussianMixture(self, parameters: parameters, gradients: gradients)
    }

    var batchStatistics: UnsafeMutableBufferPointer<Float>? { statistics?.buffer }

    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into dst: UnsafeMutablePointer<Float>) {
        gaussian.fillNoise(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: stream, into: dst)
    }

    /// a_k = log p(y = k) − h_k(z), log N(z; m_k, Σ_k) without the 2π constant (it cancels against
    /// log q's), the responsibilities softmax(a) into `gamma`; returns logsumexp(a) and
    /// Σ_k γ_k h_k(z) through `cross`.
    @inline(__always)
    private func responsibilities(_ z: UnsafePointer<Float>, gamma: UnsafeMutablePointer<Float>, cross: inout Float) -> Float {
        let K = clusters
        let logPrior = -Foundation.log(Float(K))
        var top = -Float.infinity
        for k in 0..<K {
            gamma[k] = components.energy(z, component: k)   // −a_k + log p(y), kept for the cross term
            top = max(top, logPrior - gamma[k])
        }
        var total: Float = 0
        var c: Float = 0
        for k in 0..<K {
            let half = gamma[k]
            let e = FastMath.exp(logPrior - half - top)
            gamma[k] = e
            total += e
            c += e * half
        }
        let inv = 1 / total
        for k in 0..<K { gamma[k] *= inv }
        cross = c * inv
        return top + Foundation.log(total)
    }

    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int,
                terms: inout LossTerms, first: Int) {
        let L = latent, K = clusters
        let gamma = scratch!.pointer, stats = statistics!.pointer
        for k in 0..<K { stats[k] = 0 }
        let logK = Foundation.log(Float(K))
        var klz = 0.0, kly = 0.0
        for i in 0..<rows {
            let mu = heads + i * 2 * L, lv = mu + L
            let e = noise + i * L, zr = z + i * L
            var entropy: Float = 0
            for j in 0..<L {
                zr[j] = mu[j] + FastMath.exp(0.5 * lv[j]) * e[j]
                entropy += 1 + lv[j]
            }
            var cross: Float = 0
            _ = responsibilities(UnsafePointer(zr), gamma: gamma, cross: &cross)
            var y: Float = 0
            for k in 0..<K {
                let g = gamma[k]
                stats[k] += g
                if g > 0 { y += g * (Foundation.log(g) + logK) }
            }
            klz += Double(cross - 0.5 * entropy)
            kly += Double(y)
        }
        terms[first] = klz
        terms[first + 1] = kly
    }

    /// With E = −logsumexp(a) + balance · c·γ (c_k = log(K q̄_k), the balance term's gradient per
    /// unit of γ), dE/da_k = e_k = −γ_k + balance · γ_k (c_k − Σ γ c); then dE/dz = −Σ e_k ∂h_k/∂z
    /// and dE/dθ_k = −e_k ∂h_k/∂θ_k (`MixtureComponents.accumulate`), and the head's log-variance
    /// also gets the entropy's −½.
    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale: Float,
                  headBiasGradient: UnsafeMutablePointer<Float>) {
        let L = latent, K = clusters
        let gp = priorGradient!
        let gamma = scratch!.pointer, c = scratch!.pointer + K, ek = scratch!.pointer + 2 * K
        for i in 0..<priorCount { gp[i] = 0 }
        for j in 0..<(2 * L) { headBiasGradient[j] = 0 }
        // The global batch's mean responsibilities; a floor keeps an emptied cluster's log finite.
        let stats = statistics!.pointer
        var n: Float = 0
        for k in 0..<K { n += stats[k] }
        for k in 0..<K { c[k] = Foundation.log(max(Float(K) * stats[k] / max(n, 1e-30), 1e-6)) }
        for i in 0..<rows {
            let mu = heads + i * 2 * L
            let zr = z + i * L, g = dz + i * L
            let dmu = dheads + i * 2 * L, dlv = dmu + L
            var cross: Float = 0
            _ = responsibilities(zr, gamma: gamma, cross: &cross)
            var mean: Float = 0
            for k in 0..<K { mean += gamma[k] * c[k] }
            for k in 0..<K { ek[k] = termScale * gamma[k] * (balance * (c[k] - mean) - 1) }
            for j in 0..<L { dmu[j] = g[j] }
            for k in 0..<K { components.accumulate(zr, component: k, weight: ek[k], dz: dmu, gradients: gp) }
            for j in 0..<L {
                let a = dmu[j]
                let b = 0.5 * (a * (zr[j] - mu[j]) - termScale)
                dlv[j] = b
                headBiasGradient[j] += a
                headBiasGradient[L + j] += b
            }
        }
    }

    // MARK: Evaluation

    /// log p(y) − h_k(z), in Double, into `a` (K values), and h_k into `half`.
    private func logJoint(_ z: UnsafePointer<Float>, _ a: inout [Double], _ half: inout [Double]) {
        let K = clusters
        let logPrior = -Foundation.log(Double(K))
        for k in 0..<K {
            half[k] = components.energyInDouble(z, component: k)
            a[k] = logPrior - half[k]
        }
    }

    private static func logSumExp(_ a: [Double]) -> Double {
        let top = a.max() ?? -.infinity
        guard top.isFinite else { return top }
        var s = 0.0
        for x in a { s += Foundation.exp(x - top) }
        return top + Foundation.log(s)
    }

    func evaluationSample(head: UnsafePointer<Float>, noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>,
                          terms: inout LossTerms, first: Int) {
        let L = latent, K = clusters
        let mu = head, lv = head + L
        var entropy = 0.0
        for j in 0..<L {
            let v = Double(lv[j])
            zr[j] = Float(Double(mu[j]) + Foundation.exp(0.5 * v) * Double(e[j]))
            entropy += 1 + v
        }
        var a = [Double](repeating: 0, count: K), half = a
        logJoint(zr, &a, &half)
        let lse = Self.logSumExp(a)
        var cross = 0.0, y = 0.0
        let logK = Foundation.log(Double(K))
        for k in 0..<K {
            let g = Foundation.exp(a[k] - lse)
            cross += g * half[k]
            if g > 0 { y += g * (a[k] - lse + logK) }
        }
        terms[first] = cross - 0.5 * entropy
        terms[first + 1] = y
    }

    var importanceScratchWidth: Int { latent }

    func prepareImportance(head: UnsafePointer<Float>, scratch sigma: UnsafeMutablePointer<Float>) -> Double {
        gaussian.prepareImportance(head: head, scratch: sigma)
    }

    /// log p(z) − log q(z|x) with the 2π constants cancelled: the mixture's logsumexp
    /// + ½ Σ eps² + ½ Σ logvar.
    func importanceLogRatio(head mu: UnsafePointer<Float>, scratch sd: UnsafePointer<Float>, constant: Double,
                            noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>) -> Double {
        var ee = 0.0
        for j in 0..<latent {
            zr[j] = mu[j] + sd[j] * e[j]
            ee += Double(e[j]) * Double(e[j])
        }
        var a = [Double](repeating: 0, count: clusters), half = a
        logJoint(zr, &a, &half)
        return Self.logSumExp(a) + 0.5 * ee + constant
    }

    // MARK: What the export reads

    /// kl_z's expectation under q(z|x) split over dimensions, with the responsibilities at the
    /// posterior mean: Σ_k γ_k E h_k split over dimensions (`expectedEnergyPerDimension`) minus the
    /// entropy's ½ (1 + logvar_j). Rows sum to that analytic kl_z; kl_y does not split over
    /// dimensions and is left out.
    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let L = latent, K = clusters
        var a = [Double](repeating: 0, count: K), half = a
        var expected = [Double](repeating: 0, count: L), t = expected
        for i in 0..<rows {
            let mu = heads + i * 2 * L, lv = mu + L
            logJoint(mu, &a, &half)
            let lse = Self.logSumExp(a)
            for j in 0..<L { t[j] = 0 }
            for k in 0..<K {
                let g = Foundation.exp(a[k] - lse)
                components.expectedEnergyPerDimension(mu: mu, logvar: lv, component: k, into: &expected)
                for j in 0..<L { t[j] += g * expected[j] }
            }
            for j in 0..<L { out[i * L + j] = Float(t[j] - 0.5 * (1 + Double(lv[j]))) }
        }
    }

    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        gaussian.posteriorMeans(heads: heads, rows: rows, into: out)
    }

    func posteriorLogVariances(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        gaussian.posteriorLogVariances(heads: heads, rows: rows, into: out)
    }

    func meanHeadIndex(dimension: Int) -> Int { gaussian.meanHeadIndex(dimension: dimension) }

    var posteriorExtras: [PosteriorExtra] { [PosteriorExtra(name: "responsibilities", width: clusters)] }

    /// q(y|x) at the posterior mean (deterministic, the sample's cluster is its argmax).
    func posteriorExtra(_ index: Int, heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(index == 0, "GaussianMixture has one posterior extra, not \(index)")
        let L = latent, K = clusters
        var a = [Double](repeating: 0, count: K), half = a, r = a
        for i in 0..<rows {
            meanResponsibilities(heads + i * 2 * L, &a, &half, into: &r)
            for k in 0..<K { out[i * K + k] = Float(r[k]) }
        }
    }

    /// q(y|x) = p(y | z = mu), in Double, into `r` (`a` and `half` are `logJoint`'s scratch).
    private func meanResponsibilities(_ mu: UnsafePointer<Float>, _ a: inout [Double], _ half: inout [Double],
                                      into r: inout [Double]) {
        logJoint(mu, &a, &half)
        let lse = Self.logSumExp(a)
        for k in 0..<clusters { r[k] = Foundation.exp(a[k] - lse) }
    }

    /// d q(y = c | x) / d heads with q(y|x) = p(y | z = mu) and a uniform p(y):
    /// r_c (g_c − Σ_k r_k g_k) on the mean entries, g_k = −∂h_k/∂z at mu; the log-variance
    /// entries do not enter the responsibilities, so their gradient is 0.
    func extraGradient(_ index: Int, component c: Int, heads: UnsafePointer<Float>, rows: Int,
                       into dheads: UnsafeMutablePointer<Float>) -> Bool {
        guard index == 0, c >= 0, c < clusters else { return false }
        let L = latent, K = clusters
        var a = [Double](repeating: 0, count: K), half = a, r = a
        var weighted = [Double](repeating: 0, count: L)
        var g = [Double](repeating: 0, count: K * L)
        for i in 0..<rows {
            let mu = heads + i * 2 * L, d = dheads + i * 2 * L
            meanResponsibilities(mu, &a, &half, into: &r)
            g.withUnsafeMutableBufferPointer { gk in
                for k in 0..<K { components.energyGradient(mu, component: k, into: gk.baseAddress! + k * L) }
            }
            for j in 0..<L {
                var s = 0.0
                for k in 0..<K { s -= r[k] * g[k * L + j] }
                weighted[j] = s
            }
            for j in 0..<L {
                d[j] = Float(r[c] * (-g[c * L + j] - weighted[j]))
                d[L + j] = 0
            }
        }
        return true
    }

    func holdBlockGradients() { components.holdCorrelations(gradients: priorGradient!) }

    func priorComponentDraw(_ component: Int, noise: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) -> Bool {
        guard component >= 0, component < clusters else { return false }
        components.draw(component: component, noise: noise, into: z)
        return true
    }
}
