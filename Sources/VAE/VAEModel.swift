import Foundation

/// A VAE's parameters and gradients, each one contiguous arena described by `layout`.
///
/// One arena means one allreduce per step, one optimizer loop and one checkpoint loop. Weights are
/// `[out, in]`, names follow PyTorch's `encoder.0.weight`, `encoder.mu.bias`, `decoder.2.weight`.
public final class VAEModel {
    public let config: ModelConfig
    public let layout: [TensorSpec]
    public var parameterCount: Int { slots.count }
    public let parameterStorage: FloatBuffer
    public let gradientStorage: FloatBuffer
    public var parameters: UnsafeMutableBufferPointer<Float> { parameterStorage.buffer }
    public var gradients: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: gradientStorage.buffer[0..<slots.count])
    }
    /// Slots after the gradients that a data-parallel trainer fills with the step's loss sums, so
    /// gradients and losses travel in one allreduce.
    /// Room for every loss term, then the step's row count and the stop flag.
    public static let gradientTailCount = LossTerms.capacity + 2
    /// The gradients followed by `gradientTailCount` free slots, contiguous.
    public var gradientsWithTail: UnsafeMutableBufferPointer<Float> { gradientStorage.buffer }
    let slots: ParameterLayout
    let architecture: ModelArchitecture
    /// The closed-form KL of the weights' posterior against their prior; nil without Bayesian layers.
    public let weightKL: GaussianWeightKL?

    /// Deterministic initialization from `seed` (PyTorch's nn.Linear default: weights and biases
    /// uniform in ±1/sqrt(fan_in)); a learned log-variance starts at 0. `config` must be valid
    /// (see `ModelConfig.validate`); the throwing `init(validating:seed:)` checks it first.
    public convenience init(config: ModelConfig, seed: UInt64) {
        self.init(config: config, seed: seed, latentBlock: nil)
    }

    /// The model with `latentBlock` in place of the one the config names: how a test puts its own
    /// conformer between encoder and decoder.
    convenience init(config: ModelConfig, seed: UInt64, latentBlock: (any LatentBlock)?) {
        self.init(config: config, seed: seed, latentBlock: latentBlock, storage: nil)
    }

    /// The model with its two arenas in memory the caller provides (sized by `arenaSizes`), e.g.
    /// memory that the other ranks of a host can read.
    public convenience init(config: ModelConfig, seed: UInt64, storage: ArenaStorage) {
        self.init(config: config, seed: seed, latentBlock: nil, storage: storage)
    }

    /// The floats of the parameter arena and of the gradient arena (with its tail) of a model of
    /// `config`, which must be valid.
    public static func arenaSizes(config: ModelConfig) -> ArenaSizes {
        guard let architecture = try? ModelArchitecture(config: config, latentBlock: nil) else {
            preconditionFailure("VAEModel: invalid config (validate it first)")
        }
        let count = ParameterLayout(architecture: architecture, config: config).count
        return ArenaSizes(parameters: count, gradients: count + gradientTailCount)
    }

    private init(config: ModelConfig, seed: UInt64, latentBlock: (any LatentBlock)?, storage: ArenaStorage?) {
        self.config = config
        do {
            architecture = try ModelArchitecture(config: config, latentBlock: latentBlock)
        } catch {
            preconditionFailure("VAEModel: invalid config (validate it first): \(error)")
        }
        slots = ParameterLayout(architecture: architecture, config: config)
        layout = slots.specs
        weightKL = GaussianWeightKL(layout: layout, priorSigma: config.bayesian?.priorSigma ?? BayesianWeights.defaultPriorSigma)
        lossTermNames = ["recon"] + architecture.latent.lossTermNames + (weightKL == nil ? [] : [Self.weightKLTerm])
        if let storage {
            precondition(storage.parameters.count == slots.count && storage.gradients.count == slots.count + Self.gradientTailCount,
                         "VAEModel: provided arenas do not match the model's sizes")
            parameterStorage = storage.parameters
            gradientStorage = storage.gradients
        } else {
            parameterStorage = FloatBuffer(count: slots.count)
            gradientStorage = FloatBuffer(count: slots.count + Self.gradientTailCount)
        }
        initialize(seed: seed)
    }

    public convenience init(validating config: ModelConfig, seed: UInt64) throws {
        try config.validate()
        self.init(config: config, seed: seed)
    }

    /// Re-draws every parameter from `seed`; each tensor uses its own counter stream so adding a
    /// layer does not shift the values of the others.
    public func initialize(seed: UInt64) {
        let p = parameters.baseAddress!
        for (spec, (rule, index)) in zip(layout, zip(slots.initializations, slots.initKeys)) {
            let dst = p + spec.offset
            switch rule {
            case .zeros:
                for i in 0..<spec.count { dst[i] = 0 }
            case .constant(let value):
                for i in 0..<spec.count { dst[i] = value }
            case .normal(let std):
                NoiseGenerator.fillGaussian(seed: seed, epoch: index, sampleIndex: 0,
                                            stream: NoiseGenerator.initStream, into: dst, count: spec.count)
                for i in 0..<spec.count { dst[i] *= std }
            case .uniform(let fanIn):
                let bound = 1 / Float(fanIn).squareRoot()
                NoiseGenerator.fillUniform(seed: seed, epoch: index, sampleIndex: 0,
                                           stream: NoiseGenerator.initStream, into: dst, count: spec.count)
                for i in 0..<spec.count { dst[i] = (2 * dst[i] - 1) * bound }
            }
        }
        for i in 0..<parameterCount { gradients[i] = 0 }
    }

    /// The spec of tensor `name`, if the model has one.
    public func spec(named name: String) -> TensorSpec? { layout.first(where: { $0.name == name }) }

    /// View of one parameter tensor inside the arena.
    public func parameter(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let s = spec(named: name) else { return nil }
        return UnsafeMutableBufferPointer(rebasing: parameters[s.offset..<(s.offset + s.count)])
    }

    /// View of one gradient tensor inside the gradient arena.
    public func gradient(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let s = spec(named: name) else { return nil }
        return UnsafeMutableBufferPointer(rebasing: gradients[s.offset..<(s.offset + s.count)])
    }

    /// Copies all parameters from another model of the same layout.
    public func copyParameters(from other: VAEModel) {
        precondition(other.parameterCount == parameterCount, "copyParameters: layouts differ")
        parameters.baseAddress!.update(from: other.parameters.baseAddress!, count: parameterCount)
    }

    /// FLOP of the GEMMs of one training step per sample, counted from the shapes the step issues
    /// (forward, weight gradients, input gradients except below the first encoder layer's).
    public var trainingGemmFlopsPerSample: Int {
        let all = architecture.encoder + architecture.decoder
        let skipped = architecture.encoder.first(where: { !$0.parameters.isEmpty })?.gemmFlopsPerSample.inputGradient ?? 0
        return all.reduce(0) { $0 + $1.gemmFlopsPerSample.forward + $1.gemmFlopsPerSample.weightGradient
            + $1.gemmFlopsPerSample.inputGradient } - skipped
    }

    /// The design figure: forward + all input and weight gradients (3 × forward).
    public var fullGemmFlopsPerSample: Int {
        (architecture.encoder + architecture.decoder).reduce(0) { $0 + 3 * $1.gemmFlopsPerSample.forward }
    }

    /// Values a sample keeps in the buffers of layers other than dense ones (outputs, unfolded
    /// inputs, scratch), for sizing checks before the workspace is allocated; 0 for an MLP.
    public var imageActivationValuesPerSample: Int {
        (architecture.encoder + architecture.decoder).filter { !($0 is DenseDefinition) }
            .reduce(0) { $0 + 2 * $1.output.count + 2 * $1.scratchPerRow }
    }

    /// Names of the loss terms the step and evaluation report, in `LossTerms` order: the
    /// likelihood's reconstruction, then the latent block's.
    public let lossTermNames: [String]

    /// The term of the weights' KL / N (Bayesian models): a function of the parameters alone, so
    /// no rank sends it; the trainer and evaluation set it once, after any reduction.
    public static let weightKLTerm = "weight_kl"
    public var weightKLTermIndex: Int? { lossTermNames.firstIndex(of: Self.weightKLTerm) }

    /// A `LossTerms` of this model's width, zeros.
    public func emptyLossTerms() -> LossTerms { LossTerms(count: lossTermNames.count) }

    /// Per-sample posteriors besides the means the explanation export writes (from the latent block).
    public var posteriorExtras: [PosteriorExtra] { architecture.latent.posteriorExtras }

    /// A draw from the prior's component `component` (a mixture's p(z|y)) for `latent` values of
    /// standard normal `noise`; nil when the prior has no components or `component` is not one.
    public func priorComponentDraw(_ component: Int, noise: [Float]) -> [Float]? {
        precondition(noise.count == config.latent, "VAEModel: a component draw takes \(config.latent) noise values")
        let block = architecture.latent.bound(parameters: parameters.baseAddress! + slots.latentBlock,
                                              gradients: gradientStorage.pointer + slots.latentBlock)
        var z = [Float](repeating: 0, count: config.latent)
        let drawn = noise.withUnsafeBufferPointer { e in
            z.withUnsafeMutableBufferPointer { block.priorComponentDraw(component, noise: e.baseAddress!, into: $0.baseAddress!) }
        }
        return drawn ? z : nil
    }

    /// Every layer of the model, one line each, shapes included.
    public var layerSummary: [String] { architecture.summary }
}
