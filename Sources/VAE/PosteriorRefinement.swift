import Foundation

/// How far evaluation refines each sample's posterior from the encoder's output.
public struct RefinementSettings: Equatable, Sendable {
    /// Adam steps on each sample's own posterior parameters (0: the encoder's output as it is).
    public var steps: Int
    /// Adam's step size on the head's outputs (mu, log variances, correlations).
    public var learningRate: Float
    /// Reparameterized samples of z averaged in each step's gradient.
    public var samples: Int

    public static let defaultLearningRate: Float = 0.01
    public static let maximumSteps = 100_000
    /// Streams 8..<16 (`NoiseGenerator.refinementStreamBase`).
    public static let maximumSamples = 8

    public init(steps: Int, learningRate: Float = RefinementSettings.defaultLearningRate, samples: Int = 1) {
        self.steps = steps
        self.learningRate = learningRate
        self.samples = samples
    }
}

/// Semi-amortized inference (Kim et al. 2018, without training through it): each sample's
/// posterior parameters start at the encoder's output and take `steps` Adam steps on that sample's
/// own one-sample −ELBO (β = 1), the decoder fixed. The ELBO–IWAE gap of an encoder mixes two
/// things: how well the family can fit the true posterior and how well one encoder fits every
/// sample's best member of it (the amortization gap). Refining removes the second, so the gap that
/// remains measures the family (the README's issue-17 study: about 2 of the diagonal model's 2.4
/// nats are amortization).
///
/// Every row is its own problem: the gradient of the block's summed loss with respect to row r's
/// head is row r's own, so the rows share the decoder's products without affecting each other. The
/// noise of step t is keyed by (seed, t, global sample index) and the products are the caller's
/// canonical blocks, so a sample's refined posterior does not depend on the block it was evaluated
/// in or the rank count. The model's weights stay untouched; the decoder's last bias gradient and a
/// learned likelihood variance's gradient go to scratch here, but the latent block's backward
/// writes the gradients of its own tensors (none for the Gaussian blocks this supports).
final class PosteriorRefinement {
    let settings: RefinementSettings
    private let model: VAEModel
    private let latent: any LatentBlock
    private let rows: Int
    private let decoder: LayerStack
    private let decoderNoise: WeightNoise
    private let arena: BufferArena
    private let z: UnsafeMutablePointer<Float>
    private let dz: UnsafeMutablePointer<Float>
    private let noise: UnsafeMutablePointer<Float>
    private let dheads: UnsafeMutablePointer<Float>
    private let dheadsSum: UnsafeMutablePointer<Float>
    private let m: UnsafeMutablePointer<Float>
    private let v: UnsafeMutablePointer<Float>
    private let headBias: UnsafeMutablePointer<Float>
    private let outputBias: UnsafeMutablePointer<Float>
    private let lossAcc: UnsafeMutablePointer<Float>
    private let invVar: UnsafeMutablePointer<Float>
    private let logVarGrad: UnsafeMutablePointer<Float>
    private let topBiasFused: Bool

    /// Why a model cannot be refined, or nil: the Gaussian posteriors only (a mixture's per-sample
    /// loss reads whole-batch statistics, and its categorical q(y|x) is not a reparameterized draw).
    static func unsupportedReason(_ model: VAEModel) -> String? {
        let latent = model.architecture.latent
        if latent.batchStatistics != nil || !latent.blockParameters.isEmpty {
            return "posterior refinement is for the Gaussian posteriors (--posterior diagonal or full); this model's latent block is \(type(of: latent))"
        }
        return nil
    }

    /// For blocks of `rows` rows (the evaluator's canonical block); the decoder runs on `samples`
    /// copies of them at once.
    init(model: VAEModel, rows: Int, settings: RefinementSettings) {
        precondition(Self.unsupportedReason(model) == nil, Self.unsupportedReason(model) ?? "")
        precondition(settings.steps >= 0 && settings.samples >= 1, "PosteriorRefinement: bad settings \(settings)")
        self.model = model
        self.settings = settings
        self.rows = rows
        let a = model.architecture
        let S = settings.samples, L = a.latent.latent, H = a.latent.headWidth, D = model.config.inputDim
        let P = model.parameters.baseAddress!, G = model.gradientStorage.pointer
        latent = a.latent.bound(parameters: P + model.slots.latentBlock, gradients: G + model.slots.latentBlock)
        var arena = BufferArena()
        z = arena.make(S * rows * L)
        decoderNoise = WeightNoise(rows: S * rows)
        decoderNoise.mode = .mean
        decoder = LayerStack(a.decoder, offsets: model.slots.decoder, input: z, rows: S * rows, parameters: P,
                             gradients: G, backward: true, arena: &arena, weightNoise: decoderNoise)
        topBiasFused = decoder.top.columnBiasGradient != nil
        dz = arena.make(S * rows * L)
        noise = arena.make(S * rows * a.latent.noiseWidth)
        dheads = arena.make(rows * H)
        dheadsSum = arena.make(rows * H)
        m = arena.make(rows * H)
        v = arena.make(rows * H)
        headBias = arena.make(H)
        outputBias = arena.make(D)
        lossAcc = arena.make(D)
        invVar = arena.make(D)
        logVarGrad = arena.make(D)
        self.arena = arena
    }

    /// Refines `heads` (`rows x headWidth`, the encoder's output) in place for the rows in
    /// `present`, whose inputs are `target` (`rows x inputDim`); row p is global sample `base + p`.
    /// Absent rows are left as they are.
    func refine(heads: UnsafeMutablePointer<Float>, target: UnsafePointer<Float>, present: Range<Int>,
                base: Int, seed: UInt64) {
        guard settings.steps > 0, !present.isEmpty else { return }
        let H = model.architecture.latent.headWidth
        m.update(repeating: 0, count: rows * H)
        v.update(repeating: 0, count: rows * H)
        let b1: Float = 0.9, b2: Float = 0.999, adamEps: Float = 1e-8
        for t in 0..<settings.steps {
            _ = objective(heads: heads, target: target, present: present, base: base, seed: seed, step: t)
            // Adam on the present rows' head outputs, each its own parameter.
            let step = Double(t + 1)
            let stepSize = settings.learningRate / Float(1 - Foundation.pow(Double(b1), step))
            let invSqrtC2 = 1 / Float(1 - Foundation.pow(Double(b2), step)).squareRoot()
            for i in (present.lowerBound * H)..<(present.upperBound * H) {
                let g = dheadsSum[i]
                let mi = b1 * m[i] + (1 - b1) * g
                let vi = b2 * v[i] + (1 - b2) * g * g
                m[i] = mi
                v[i] = vi
                heads[i] -= stepSize * mi / (FastMath.sqrt(vi) * invSqrtC2 + adamEps)
            }
        }
    }

    /// The block's −ELBO (β = 1) summed over all its rows, at refinement step `step`'s draws and
    /// averaged over them, with its gradient w.r.t. `heads` left in `gradient`. Absent rows get
    /// zero noise; their terms are in the sum but their gradient is never applied.
    func objective(heads: UnsafePointer<Float>, target: UnsafePointer<Float>, present: Range<Int>,
                   base: Int, seed: UInt64, step t: Int) -> Double {
        let a = model.architecture
        let B = rows, S = settings.samples, L = a.latent.latent, H = a.latent.headWidth
        let N = a.latent.noiseWidth, D = model.config.inputDim
        let logVar = model.slots.likelihoodLogVar.map { UnsafePointer(model.parameters.baseAddress! + $0) }
        noise.update(repeating: 0, count: S * B * N)
        // Draw s of step t: its own (epoch, stream) key, apart from training's and evaluation's.
        for s in 0..<S {
            for p in present {
                latent.fillNoise(seed: seed, epoch: t, sampleIndex: base + p,
                                 stream: NoiseGenerator.refinementStreamBase + s, into: noise + (s * B + p) * N)
            }
        }
        var total = 0.0
        var terms = model.emptyLossTerms()
        for s in 0..<S {
            latent.sample(heads: heads, noise: noise + s * B * N, z: z + s * B * L, rows: B, terms: &terms, first: 1)
            total += terms.regularizer
        }
        decoder.forward(rows: S * B)
        let out = decoder.output
        let inverseSamples = 1 / Float(S)
        for s in 0..<S {
            total += LikelihoodKernels.forwardBackward(
                model.config.likelihood, output: out + s * B * D, target: target, rows: B, cols: D, gradScale: 1,
                lossAcc: lossAcc, biasGrad: outputBias, logVar: logVar, invVar: invVar, logVarGrad: logVarGrad)
        }
        // Input gradients only: a fused top bias gradient went to scratch above, and an unfused one
        // is not summed without parameter gradients.
        decoder.backward(rows: S * B, gradTop: out, topBiasDone: topBiasFused, gradInput: dz, parameterGradients: false)
        dheadsSum.update(repeating: 0, count: B * H)
        for s in 0..<S {
            latent.backward(heads: heads, noise: noise + s * B * N, z: z + s * B * L, dz: dz + s * B * L,
                            dheads: dheads, rows: B, termScale: 1, headBiasGradient: headBias)
            for i in 0..<(B * H) { dheadsSum[i] += dheads[i] * inverseSamples }
        }
        return total / Double(S)
    }

    /// The gradient `objective` left, `rows x headWidth`.
    var gradient: UnsafePointer<Float> { UnsafePointer(dheadsSum) }
}
