import Foundation
import Linalg

/// q(z|x) = N(mu, diag(exp(logvar))) against the prior N(0, I): today's VAE. Heads rows read
/// `[mu | logvar]`, from one `[2·latent, in]` GEMM: the two weights are laid out side by side and
/// then the two biases (`encoder.mu.weight`, `encoder.logvar.weight`, `encoder.mu.bias`,
/// `encoder.logvar.bias`), so the checkpoint names stay those of two PyTorch heads.
struct DiagonalGaussian: LatentBlock {
    let latent: Int
    var headWidth: Int { 2 * latent }
    var noiseWidth: Int { latent }
    var lossTermNames: [String] { ["kl"] }

    func headParameters(inDim: Int) -> [ParameterDeclaration] {
        let L = latent
        let u = Initialization.uniform(fanIn: inDim)
        return [
            ParameterDeclaration(name: "encoder.mu.weight", shape: [L, inDim], initialization: u),
            ParameterDeclaration(name: "encoder.logvar.weight", shape: [L, inDim], initialization: u),
            ParameterDeclaration(name: "encoder.mu.bias", shape: [L], initialization: u),
            ParameterDeclaration(name: "encoder.logvar.bias", shape: [L], initialization: u),
        ]
    }

    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into dst: UnsafeMutablePointer<Float>) {
        NoiseGenerator.fillGaussian(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: stream, into: dst, count: latent)
    }

    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int,
                terms: inout LossTerms, first: Int) {
        terms[first] = Reparameterization.sample(heads: heads, eps: noise, z: z, rows: rows, latent: latent)
    }

    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale: Float,
                  headBiasGradient: UnsafeMutablePointer<Float>) {
        Reparameterization.backward(heads: heads, eps: noise, z: z, dz: dz, dheads: dheads, rows: rows, latent: latent,
                                    klScale: termScale, biasGrad: headBiasGradient)
    }

    // The evaluation path sums in Double and takes exp in Double: its figures are the reported
    // ones, and it runs once per sample, not once per step.
    func evaluationSample(head: UnsafePointer<Float>, noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>,
                          terms: inout LossTerms, first: Int) {
        let L = latent
        let mu = head, lv = head + L
        var kl = 0.0
        for j in 0..<L {
            let m = Double(mu[j]), v = Double(lv[j])
            let sigma = Foundation.exp(0.5 * v)
            zr[j] = Float(m + sigma * Double(e[j]))
            kl += GaussianKL.dimension(mu: m, logvar: v, variance: sigma * sigma)
        }
        terms[first] = kl
    }

    var importanceScratchWidth: Int { latent }

    /// σ once per row, not once per importance sample; the constant is ½ Σ logvar.
    func prepareImportance(head: UnsafePointer<Float>, scratch sigma: UnsafeMutablePointer<Float>) -> Double {
        let lv = head + latent
        var sum = 0.0
        for j in 0..<latent {
            sigma[j] = FastMath.exp(0.5 * lv[j])
            sum += Double(lv[j])
        }
        return 0.5 * sum
    }

    /// log N(z; 0, I) − log N(z; mu, σ²) with the 2π constants cancelled:
    /// −½ Σ z² + ½ Σ eps² + ½ Σ logvar.
    func importanceLogRatio(head mu: UnsafePointer<Float>, scratch sd: UnsafePointer<Float>, constant: Double,
                            noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>) -> Double {
        var zz: Float = 0, ee: Float = 0
        for j in 0..<latent {
            let zj = mu[j] + sd[j] * e[j]
            zr[j] = zj
            zz += zj * zj
            ee += e[j] * e[j]
        }
        return 0.5 * Double(ee - zz) + constant
    }

    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        Reparameterization.perDimensionKL(heads: heads, rows: rows, latent: latent, into: out)
    }

    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (out + r * latent).update(from: heads + r * 2 * latent, count: latent) }
    }

    func posteriorLogVariances(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (out + r * latent).update(from: heads + r * 2 * latent + latent, count: latent) }
    }

    func meanHeadIndex(dimension: Int) -> Int { dimension }
}
