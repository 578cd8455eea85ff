/// What sits between encoder and decoder: the head the encoder ends in, how z is drawn from it,
/// the regularizing loss terms and their gradient, the importance weight IWAE needs, and what
/// evaluation and the explanation export read from it. A new posterior family or prior (a full
/// covariance, a mixture) is a new conformer and one case in `ModelArchitecture`.
protocol LatentBlock {
    /// Width of z, the decoder's input.
    var latent: Int { get }
    /// Width of the encoder's last (linear) layer, whose output this block reads.
    var headWidth: Int { get }
    /// Noise values one sample's draw of z takes.
    var noiseWidth: Int { get }
    /// Names of the loss terms this block adds to the likelihood's, in the order it writes them.
    var lossTermNames: [String] { get }
    /// The head layer's tensors, in arena order, for an encoder output of `inDim` values.
    func headParameters(inDim: Int) -> [ParameterDeclaration]
    /// Tensors the block owns besides its head (a learned prior), named by structure
    /// (`prior.means`); the arena places them between the encoder and the decoder, so their
    /// gradients are final before the encoder's backward pass, which the gradient buckets rely on.
    var blockParameters: [ParameterDeclaration] { get }
    /// The block reading its own tensors at `parameters` and writing their gradients at
    /// `gradients` (both at the first of `blockParameters`); blocks without tensors return
    /// themselves. Bound once per workspace, like the layers.
    func bound(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) -> any LatentBlock

    /// Fills one sample's noise from the counter RNG: the same (seed, epoch, global sample index,
    /// stream) gives the same noise whatever the batch, chunk or rank the sample falls in.
    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into: UnsafeMutablePointer<Float>)
    /// Draws z for `rows` rows of heads and writes the block's loss terms, each summed over the
    /// rows, to `terms[first + i]`.
    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int,
                terms: inout LossTerms, first: Int)
    /// d/d(heads) from d/dz and the block's terms scaled by `termScale`; writes the head's bias
    /// gradient (Σ over rows) in the same pass, and overwrites the gradients of its own tensors.
    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale: Float,
                  headBiasGradient: UnsafeMutablePointer<Float>)

    // MARK: Evaluation (one row at a time, in Double where it sums)

    /// z for one row's head and noise, and the block's terms for that row at `terms[first + i]`.
    func evaluationSample(head: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
                          terms: inout LossTerms, first: Int)
    /// Floats of per-row state `prepareImportance` keeps for the K importance samples of a row.
    var importanceScratchWidth: Int { get }
    /// Work done once per row before its importance samples (σ, log-determinants); returns a
    /// per-row constant of the log-weight.
    func prepareImportance(head: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Double
    /// Writes z for one importance sample and returns log p(z) − log q(z|x) at it (constants that
    /// cancel may be left out); `constant` is what `prepareImportance` returned for the row.
    func importanceLogRatio(head: UnsafePointer<Float>, scratch: UnsafePointer<Float>, constant: Double,
                            noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) -> Double

    // MARK: What the explanation export reads

    /// The block's regularizer split over latent dimensions, `[rows, latent]` (rows sum to it
    /// where it splits exactly; the block says how otherwise).
    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>)
    /// Posterior means, `[rows, latent]`: what the export's codes and saliency are about.
    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>)
    /// Log-variances of each dimension's marginal posterior, `[rows, latent]`.
    func posteriorLogVariances(heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>)
    /// The head entry saliency differentiates for the posterior mean of `dimension`.
    func meanHeadIndex(dimension: Int) -> Int
    /// Further per-sample posteriors the export writes (cluster responsibilities, correlations).
    var posteriorExtras: [PosteriorExtra] { get }
    /// Extra `index` of `posteriorExtras` for `rows` rows, `[rows, width]`.
    func posteriorExtra(_ index: Int, heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>)
    /// d extra[`index`][`component`] / d(heads) for `rows` rows, written over all of
    /// `dheads` (`[rows, headWidth]`): the head gradient the encoder's backward pass turns into
    /// the extra's saliency (a cluster's responsibility with respect to the input). Returns false,
    /// writing nothing, for an extra the block does not differentiate; the export then leaves
    /// that saliency out and says so.
    func extraGradient(_ index: Int, component: Int, heads: UnsafePointer<Float>, rows: Int,
                       into dheads: UnsafeMutablePointer<Float>) -> Bool

    /// A draw from the prior's component `component` (a mixture's p(z|y)) for `latent` values of
    /// standard normal noise; false, writing nothing, for a block whose prior has no components.
    func priorComponentDraw(_ component: Int, noise: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) -> Bool

    /// Sums over the batch a block's loss depends on (a mixture's mean responsibilities): `sample`
    /// writes this rank's sums here, the trainer adds them over every rank in place, and
    /// `backward` reads the global batch's. nil: the block's rows are independent.
    var batchStatistics: UnsafeMutableBufferPointer<Float>? { get }
    /// Head outputs a training warm-up may hold at their starting values (their gradient zeroed,
    /// so Adam leaves the tensors producing them where they are); nil: none.
    var heldHeadOutputs: Range<Int>? { get }
    /// Zeroes the gradients of the block's own tensors that the same warm-up holds (a mixture's
    /// correlations before its fit); called after `backward`.
    func holdBlockGradients()
}

/// A per-sample posterior quantity besides the means: written as `<name>.npy`, `[samples, width]`.
public struct PosteriorExtra: Equatable, Sendable {
    public let name: String
    public let width: Int
    public init(name: String, width: Int) { self.name = name; self.width = width }
}

extension LatentBlock {
    var blockParameters: [ParameterDeclaration] { [] }
    func bound(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) -> any LatentBlock { self }
    var posteriorExtras: [PosteriorExtra] { [] }
    var batchStatistics: UnsafeMutableBufferPointer<Float>? { nil }
    var heldHeadOutputs: Range<Int>? { nil }
    func holdBlockGradients() {}
    func posteriorExtra(_ index: Int, heads: UnsafePointer<Float>, rows: Int, into: UnsafeMutablePointer<Float>) {
        preconditionFailure("\(type(of: self)) has no posterior extra \(index)")
    }
    func extraGradient(_ index: Int, component: Int, heads: UnsafePointer<Float>, rows: Int,
                       into dheads: UnsafeMutablePointer<Float>) -> Bool { false }
    func priorComponentDraw(_ component: Int, noise: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) -> Bool { false }
}
