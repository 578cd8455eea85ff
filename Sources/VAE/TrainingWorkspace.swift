import Foundation

/// Every buffer one training step touches, allocated once for `maxBatch` rows.
/// `forwardBackward` allocates nothing; memory is proportional to the batch (plus D-sized scratch).
public final class TrainingWorkspace {
    public let model: VAEModel
    public let maxBatch: Int

    private let inputStorage: FloatBuffer
    private let epsStorage: FloatBuffer
    /// Rows of the batch, `maxBatch x inputDim`, filled by the caller (pixels in [0, 1] for Bernoulli).
    public var input: UnsafeMutableBufferPointer<Float> { inputStorage.buffer }
    /// Reparameterization noise, `maxBatch x noiseWidth` (the latent width for the Gaussian),
    /// filled by the caller or `prepareNoise`.
    public var eps: UnsafeMutableBufferPointer<Float> { epsStorage.buffer }

    // Forward activations; the decoder output (logits / mean) is overwritten by its gradient in
    // backward.
    let act: ForwardActivations
    private let arena: BufferArena
    let dz: UnsafeMutablePointer<Float>
    private let lossAcc: UnsafeMutablePointer<Float>
    private let invVar: UnsafeMutablePointer<Float>
    private let latentHasTensors: Bool

    /// Called during `forwardBackward`'s backward pass, layer by layer from the last, with the
    /// lowest arena offset from which every gradient is final: lets a data-parallel trainer send
    /// those gradients while the rest are computed. Backward fills the arena from its end.
    public var gradientsReady: ((Int) -> Void)?

    /// While set, the latent block's `heldHeadOutputs` and the tensors `holdBlockGradients` names
    /// get no gradient (a full-covariance posterior's correlations held at zero for the first
    /// epochs, a full-covariance mixture's before its fit; see `TrainConfig.holdsCorrelations`).
    public var holdsLatentHead = false

    /// Called between forward and backward with the latent block's batch sums (this rank's
    /// rows), to be replaced in place by the global batch's (an allreduce), when the block's loss
    /// depends on the whole batch (`batchStatisticsWidth` > 0). nil: this rank's rows are the batch.
    public var reduceBatchStatistics: ((UnsafeMutableBufferPointer<Float>) -> Void)?
    /// Floats of batch sums the latent block needs reduced each step (0: none).
    public var batchStatisticsWidth: Int { act.latent.batchStatistics?.count ?? 0 }
    /// A rank without rows in this step joins the reduction with zeros (not calling `forwardBackward`).
    public func reduceEmptyBatchStatistics() {
        guard let stats = act.latent.batchStatistics else { return }
        stats.update(repeating: 0)
        reduceBatchStatistics?(stats)
    }

    /// Per-phase wall time (seconds) accumulated while `timing` is set: benchmarks only.
    public var timing = false
    public private(set) var phaseTimes = PhaseTimes()

    public init(model: VAEModel, maxBatch: Int) {
        self.model = model
        self.maxBatch = max(1, maxBatch)
        let B = self.maxBatch
        let c = model.config
        let D = c.inputDim
        let latent = model.architecture.latent
        inputStorage = FloatBuffer(count: B * D)
        epsStorage = FloatBuffer(count: B * latent.noiseWidth)
        act = ForwardActivations(model: model, input: inputStorage.pointer, encoderRows: B, decoderRows: B,
                                 backpropagatesDecoder: true)
        var arena = BufferArena()
        dz = arena.make(B * latent.latent)
        lossAcc = arena.make(D)
        invVar = arena.make(D)
        self.arena = arena
        latentHasTensors = !latent.blockParameters.isEmpty
    }

    /// Fills `eps` for rows `0..<batch` from the counter RNG, sample `sampleIndices[i]` for row i,
    /// and binarizes `input` in place when the model asks for dynamic binarization.
    public func prepareNoise<C: Collection>(batch: Int, seed: UInt64, epoch: Int, sampleIndices: C)
    where C.Element: BinaryInteger {
        let latent = model.architecture.latent
        let N = latent.noiseWidth, D = model.config.inputDim
        var row = 0
        for index in sampleIndices where row < batch {
            let s = Int(index)
            latent.fillNoise(seed: seed, epoch: epoch, sampleIndex: s, stream: NoiseGenerator.trainingStream,
                             into: epsStorage.pointer + row * N)
            if model.config.binarize {
                NoiseGenerator.binarize(seed: seed, epoch: epoch, sampleIndex: s, inputStorage.pointer + row * D, count: D)
            }
            row += 1
        }
        keyWeights(seed: seed, epoch: epoch, sampleIndices: sampleIndices.prefix(batch))
    }

    /// Whether training steps draw the Bayesian layers' weights (the default) or use their means
    /// (`.mean`: the deterministic network, as if every sigma were 0; the rho gradients are then 0).
    public var weightMode: WeightNoise.Mode = .sampled

    /// Keys the Bayesian layers' noise by (seed, epoch, global sample index, layer).
    public func keyWeights<C: Collection>(seed: UInt64, epoch: Int, sampleIndices: C) where C.Element: BinaryInteger {
        for n in [act.encoderNoise, act.decoderNoise] {
            n.mode = weightMode
            n.seed = seed
            n.stream = WeightNoise.trainingStream
            n.setRows(sampleIndices, draw: epoch)
        }
    }

    /// Forward and backward over rows `0..<batch` of `input` with noise `eps`.
    ///
    /// Writes (overwrites) into `model.gradients` the gradient of
    /// `gradScale · Σ_rows (recon + klWeight · latent terms)`; `klWeight` is the whole multiplier
    /// of the latent block's terms (β times any warm-up factor). Pass `gradScale = 1 / globalBatch`
    /// for a mean. Returns the unweighted sums of the loss terms over the rows.
    public func forwardBackward(batch: Int, klWeight: Float, gradScale: Float) -> LossTerms {
        precondition(batch >= 1 && batch <= maxBatch, "forwardBackward: batch \(batch) outside 1...\(maxBatch)")
        let c = model.config
        let D = c.inputDim, B = batch
        let latent = act.latent
        let P = model.parameters.baseAddress!
        let G = model.gradients.baseAddress!
        let x = UnsafePointer(inputStorage.pointer)
        var t0 = timing ? Clock.now() : 0

        act.encoder.forward(rows: B)
        if timing { t0 = lap(t0, \.encoderForward) }

        // z from the heads and the noise, and the latent block's loss terms summed over the batch.
        var terms = model.emptyLossTerms()
        latent.sample(heads: act.heads, noise: epsStorage.pointer, z: act.z, rows: B, terms: &terms, first: 1)
        // Before any gradient bucket is sent, so every rank issues its collectives in one order.
        if let stats = latent.batchStatistics { reduceBatchStatistics?(stats) }
        if timing { t0 = lap(t0, \.elementwise) }

        act.decoder.forward(rows: B)
        if timing { t0 = lap(t0, \.decoderForward) }

        // Likelihood and its gradient w.r.t. the decoder output, fused with the last bias gradient
        // when that bias is one per output value.
        // Plain optionals, not closures: the step allocates nothing, even unoptimized.
        var logVar: UnsafePointer<Float>?, logVarGrad: UnsafeMutablePointer<Float>?
        if let slot = model.slots.likelihoodLogVar { logVar = UnsafePointer(P + slot); logVarGrad = G + slot }
        let recon = LikelihoodKernels.forwardBackward(
            c.likelihood, output: act.output, target: x, rows: B, cols: D, gradScale: gradScale, lossAcc: lossAcc,
            biasGrad: act.outputBiasGradient, logVar: logVar, invVar: invVar, logVarGrad: logVarGrad)
        if timing { t0 = lap(t0, \.likelihood) }

        act.decoder.backward(rows: B, gradTop: act.output, topBiasDone: act.outputBiasFused, gradInput: dz,
                             parameterGradients: true, ready: gradientsReady)
        if timing { t0 = lap(t0, \.decoderBackward) }

        latent.backward(heads: act.heads, noise: epsStorage.pointer, z: act.z, dz: dz, dheads: act.dheads,
                        rows: B, termScale: klWeight * gradScale, headBiasGradient: act.encoder.top.columnBiasGradient!)
        if holdsLatentHead {
            if let held = latent.heldHeadOutputs { holdHeadOutputs(held, rows: B) }
            latent.holdBlockGradients()
        }
        // The block's own tensors sit between encoder and decoder: final from here on.
        if latentHasTensors { gradientsReady?(model.slots.latentBlock) }
        if timing { t0 = lap(t0, \.elementwise) }

        // The data need no gradient: the first encoder layer stops at its weight gradient.
        act.encoder.backward(rows: B, gradTop: act.dheads, topBiasDone: true, gradInput: nil, parameterGradients: true,
                             ready: gradientsReady)
        if timing { _ = lap(t0, \.encoderBackward); phaseTimes.steps += 1 }
        terms[LossTerms.reconstruction] = recon
        return terms
    }

    /// Zeroes the held head outputs' gradient (every row's, and the head bias's) before the
    /// encoder's backward pass: the head's tensors producing them get a zero gradient, and the
    /// encoder below learns from the other outputs only.
    private func holdHeadOutputs(_ held: Range<Int>, rows: Int) {
        let H = model.architecture.latent.headWidth
        for r in 0..<rows { (act.dheads + r * H + held.lowerBound).update(repeating: 0, count: held.count) }
        (act.encoder.top.columnBiasGradient! + held.lowerBound).update(repeating: 0, count: held.count)
    }

    @inline(__always)
    private func lap(_ t0: Double, _ key: WritableKeyPath<PhaseTimes, Double>) -> Double {
        let t = Clock.now()
        phaseTimes[keyPath: key] += t - t0
        return t
    }

    public func resetPhaseTimes() { phaseTimes = PhaseTimes() }

    /// Read-only views for tests and tools: the heads `[mu | logvar]` per row, z, decoder output
    /// (valid after `forward`, before backward overwrites it).
    public var headsView: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: act.heads, count: maxBatch * model.architecture.latent.headWidth)
    }
    public var zView: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: act.z, count: maxBatch * model.config.latent) }
    public var outputView: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: act.output, count: maxBatch * model.config.inputDim) }

    /// Issues the sgemm calls of `forwardBackward(batch:)`, same shapes, same buffers, in the same
    /// order, and nothing else: what the step would cost if everything but its products were free,
    /// so the benchmark can show how close to the sgemm peak these shapes can get at all.
    /// Benchmarks only: it overwrites the gradients and activations with meaningless values.
    public func replayProducts(batch: Int) {
        precondition(batch >= 1 && batch <= maxBatch, "replayProducts: batch \(batch) outside 1...\(maxBatch)")
        act.encoder.forward(rows: batch, productsOnly: true)
        act.decoder.forward(rows: batch, productsOnly: true)
        act.decoder.backward(rows: batch, gradTop: act.output, topBiasDone: act.outputBiasFused, gradInput: dz,
                             parameterGradients: true, productsOnly: true)
        act.encoder.backward(rows: batch, gradTop: act.dheads, topBiasDone: true, gradInput: nil,
                             parameterGradients: true, productsOnly: true)
    }

    /// Forward only (no gradients): fills heads, z and the decoder output. Returns the latent
    /// block's terms (the reconstruction term is left 0).
    @discardableResult
    public func forward(batch: Int) -> LossTerms {
        precondition(batch >= 1 && batch <= maxBatch, "forward: batch \(batch) outside 1...\(maxBatch)")
        act.encoder.forward(rows: batch)
        var terms = model.emptyLossTerms()
        act.latent.sample(heads: act.heads, noise: epsStorage.pointer, z: act.z, rows: batch, terms: &terms, first: 1)
        act.decoder.forward(rows: batch)
        return terms
    }
}

/// Wall time per phase of the step, summed over `steps` steps.
public struct PhaseTimes: Equatable {
    public var encoderForward = 0.0
    public var decoderForward = 0.0
    public var likelihood = 0.0
    public var decoderBackward = 0.0
    public var encoderBackward = 0.0
    public var elementwise = 0.0
    public var steps = 0
    public var total: Double { encoderForward + decoderForward + likelihood + decoderBackward + encoderBackward + elementwise }
}
