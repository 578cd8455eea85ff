/// What sits between encoder and decoder: the head the encoder ends in, how z is drawn from it,
/// the regularizing loss term and its gradient, and what evaluation and the explanation export
/// read from it. A new posterior family (a mixture, a flow) is a new conformer.
protocol LatentBlock {
    /// Width of z, the decoder's input.
    var latent: Int { get }
    /// Width of the encoder's last (linear) layer, whose output this block reads.
    var headWidth: Int { get }
    /// Noise values one sample's draw of z takes.
    var noiseWidth: Int { get }
    /// Names of the loss terms this block adds to the likelihood's (in the order `sample` sums them).
    var lossTermNames: [String] { get }
    /// The head layer's tensors, in arena order, for an encoder output of `inDim` values.
    func headParameters(inDim: Int) -> [ParameterDeclaration]
    /// Fills one sample's noise from the counter RNG: the same (seed, epoch, global sample index,
    /// stream) gives the same noise whatever the batch, chunk or rank the sample falls in.
    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into: UnsafeMutablePointer<Float>)
    /// Draws z for `rows` rows of heads and returns the sum over rows of the block's loss term.
    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int) -> Double
    /// d/d(heads) from d/dz and the loss term scaled by `termScale`; writes the head's bias
    /// gradient (Σ over rows) in the same pass.
    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale: Float,
                  headBiasGradient: UnsafeMutablePointer<Float>)
    /// The loss term of each latent dimension, `[rows, latent]` (rows sum to the term).
    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>)
    /// Posterior means, `[rows, latent]`: what the export's codes and saliency are about.
    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>)
    /// The head entry saliency differentiates for the posterior mean of `dimension`.
    func meanHeadIndex(dimension: Int) -> Int
}
