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

    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int) -> Double {
        Reparameterization.sample(heads: heads, eps: noise, z: z, rows: rows, latent: latent)
    }

    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale: Float,
                  headBiasGradient: UnsafeMutablePointer<Float>) {
        Reparameterization.backward(heads: heads, eps: noise, z: z, dz: dz, dheads: dheads, rows: rows, latent: latent,
                                    klScale: termScale, biasGrad: headBiasGradient)
    }

    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        Reparameterization.perDimensionKL(heads: heads, rows: rows, latent: latent, into: out)
    }

    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (out + r * latent).update(from: heads + r * 2 * latent, count: latent) }
    }

    func meanHeadIndex(dimension: Int) -> Int { dimension }
}
