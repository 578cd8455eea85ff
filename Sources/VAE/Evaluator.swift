import Foundation

/// Evaluation terms of one sample, in nats.
public struct PerSampleEval: Equatable {
    /// Every loss term (named by `VAEModel.lossTermNames`), one posterior sample.
    public var terms: LossTerms
    /// −(IWAE bound): an upper estimate of −log p(x); nil when K = 0.
    public var iwaeNLL: Double?
    /// The sum of the terms (the ELBO with β = 1, whatever the training β).
    public var negativeELBO: Double { terms.total }
    /// −log p(x | z) at that sample.
    public var recon: Double { terms.recon }
    /// The latent block's terms (for the VAE, the analytic KL(q(z|x) ‖ N(0, I))).
    public var kl: Double { terms.regularizer }

    public init(terms: LossTerms, iwaeNLL: Double? = nil) { self.terms = terms; self.iwaeNLL = iwaeNLL }
}

/// Single-process inference: ELBO and IWAE per sample, encode, decode, per-dimension KL and
/// saliency. Every entry point accepts any `batch` and works through it in the canonical blocks of
/// `EvaluationBlocks`: the row at `firstSampleIndex + r` is computed at row
/// `(firstSampleIndex + r) % EvaluationBlocks.rows` of products of exactly that many rows, so its
/// result is the same bit for bit however the caller batches its calls and whatever rank it runs
/// on (with the same BLAS kernel and threads: OpenBLAS's threaded driver splits sums differently).
/// IWAE decodes its K samples `iwaeSamplesPerDecode` at a time for the whole block.
public final class Evaluator {
    public let model: VAEModel
    /// Rows of every encoder product and of the ELBO's decoder product.
    public static let blockRows = EvaluationBlocks.rows
    /// Importance samples of a block decoded in one product (8 x 64 = 512 latent rows); the last
    /// group of a K that is not a multiple has K mod 8, a shape fixed by K alone.
    public static let iwaeSamplesPerDecode = 8

    private let arena: BufferArena
    /// The block's input rows, copied (and binarized) from the caller's; absent rows are zeros.
    private let x: UnsafeMutablePointer<Float>
    private let act: ForwardActivations
    private let epsRow: UnsafeMutablePointer<Float>
    /// Per-row state the latent block keeps for the importance samples of a block's rows.
    private let importanceScratch: UnsafeMutablePointer<Float>
    private var importanceConstant: [Double]
    private let reconScratch: UnsafeMutablePointer<Float>
    /// The block's input gradient (saliency), copied out for the present rows.
    private let inputGradient: UnsafeMutablePointer<Float>
    private var logRatio: [Double]
    private var lseMax: [Double]
    private var lseSum: [Double]

    /// Which weights every entry point uses: nil (the default) the posterior means, the
    /// deterministic network; `t`: weight sample t of the Bayesian layers, its noise keyed by
    /// (`weightSeed`, t, global sample index, layer), so it does not depend on blocks or ranks.
    /// Each row (and each importance sample of a row) gets its own draw of the weights, as the
    /// local reparameterization gives them. No effect on a model without Bayesian layers.
    public var weightSample: Int?
    public var weightSeed: UInt64 = 0

    /// Posterior refinement for the ELBO and IWAE (`evaluate` only; encode, decode and saliency
    /// read the encoder's output): nil or 0 steps, the encoder's posterior as it is. Set it before
    /// evaluating; the model must be one `PosteriorRefinement.unsupportedReason` accepts, and it
    /// refines with the weights at their means.
    public var refinement: RefinementSettings? {
        didSet {
            guard let r = refinement, r.steps > 0 else { refiner = nil; return }
            if let reason = PosteriorRefinement.unsupportedReason(model) { preconditionFailure(reason) }
            if refiner?.settings != r { refiner = PosteriorRefinement(model: model, rows: Self.blockRows, settings: r) }
        }
    }
    private var refiner: PosteriorRefinement?

    /// Why `refinement` cannot be set for `model`, or nil.
    public static func refinementUnsupported(_ model: VAEModel) -> String? {
        PosteriorRefinement.unsupportedReason(model)
    }

    /// Sets the Bayesian layers' mode and their noise keys for a block whose row 0 is global
    /// sample `base` and whose rows `present` hold samples; decoder rows are `groups` copies of
    /// the block (importance samples), copy g drawn as `decoderDraw + g`.
    private func keyWeights(base: Int, present: Range<Int>, groups: Int = 1, decoderDraw: Int = 0) {
        let B = Self.blockRows
        let enc = act.encoderNoise, dec = act.decoderNoise
        guard let t = weightSample else { enc.mode = .mean; dec.mode = .mean; return }
        for n in [enc, dec] { n.mode = .sampled; n.seed = weightSeed; n.stream = WeightNoise.evaluationStream }
        // 2^16 draws a weight sample: its ELBO decode, then one per importance sample.
        let draw = t << 16
        for p in 0..<B {
            enc.sample[p] = present.contains(p) ? base + p : -1
            enc.draw[p] = draw
        }
        for g in 0..<groups {
            for p in 0..<B {
                dec.sample[g * B + p] = present.contains(p) ? base + p : -1
                dec.draw[g * B + p] = draw + decoderDraw + g
            }
        }
    }

    public init(model: VAEModel) {
        self.model = model
        let R = Self.blockRows, Rd = Self.blockRows * Self.iwaeSamplesPerDecode
        let c = model.config
        var arena = BufferArena()
        x = arena.make(R * c.inputDim)
        act = ForwardActivations(model: model, input: x, encoderRows: R, decoderRows: Rd, backpropagatesDecoder: false)
        let latent = model.architecture.latent
        epsRow = arena.make(latent.noiseWidth)
        importanceScratch = arena.make(R * max(1, latent.importanceScratchWidth))
        reconScratch = arena.make(c.inputDim)
        inputGradient = arena.make(R * c.inputDim)
        self.arena = arena
        logRatio = Array(repeating: 0, count: Rd)
        lseMax = Array(repeating: 0, count: R)
        lseSum = Array(repeating: 0, count: R)
        importanceConstant = Array(repeating: 0, count: R)
    }

    /// Callers used to pick the product size; it is canonical now, so `maxBatch` changes nothing.
    @available(*, deprecated, message: "evaluation products have a fixed size (EvaluationBlocks.rows); use init(model:)")
    public convenience init(model: VAEModel, maxBatch: Int) {
        self.init(model: model)
    }

    // MARK: ELBO and IWAE

    /// Per-sample −ELBO, recon, KL and (if `iwaeK > 0`) the IWAE estimate of −log p(x) for the
    /// rows of `input` (`batch x inputDim`), which are the samples at global indices
    /// `firstSampleIndex...`. Noise comes from the counter RNG keyed by (`noiseSeed`, global sample
    /// index) and the products are the canonical blocks of those indices, so results do not depend
    /// on how the rows are split across calls or ranks. With dynamic binarization the rows are
    /// binarized from the same key.
    public func evaluate(batch: Int, input: UnsafePointer<Float>, noiseSeed: UInt64, firstSampleIndex: Int,
                         iwaeK: Int) -> [PerSampleEval] {
        let latent = act.latent
        return evaluate(batch: batch, input: input, iwaeK: iwaeK, binarizeSeed: model.config.binarize ? noiseSeed : nil,
                        firstSampleIndex: firstSampleIndex, refineSeed: noiseSeed,
                        eps: { row, dst in
                            latent.fillNoise(seed: noiseSeed, epoch: 0, sampleIndex: firstSampleIndex + row,
                                             stream: NoiseGenerator.evaluationStream, into: dst)
                        },
                        iwaeEps: { row, k, dst in
                            latent.fillNoise(seed: noiseSeed, epoch: 0, sampleIndex: firstSampleIndex + row,
                                             stream: NoiseGenerator.iwaeStreamBase + k, into: dst)
                        })
    }

    /// The same with explicit noise: `eps` is `batch x noiseWidth`; `iwaeEps` is
    /// `iwaeK x batch x noiseWidth` (sample-major, as the reference fixture stores it; the
    /// Gaussian's noise width is the latent width). Inputs are used as given (no binarization);
    /// rows are placed as samples `0..<batch`.
    public func evaluate(batch: Int, input: UnsafePointer<Float>, eps: UnsafePointer<Float>,
                         iwaeEps: UnsafePointer<Float>?, iwaeK: Int) -> [PerSampleEval] {
        let L = act.latent.noiseWidth
        let k = iwaeEps == nil ? 0 : iwaeK
        return evaluate(batch: batch, input: input, iwaeK: k, binarizeSeed: nil, firstSampleIndex: 0, refineSeed: 0,
                        eps: { row, dst in dst.update(from: eps + row * L, count: L) },
                        iwaeEps: { row, kk, dst in dst.update(from: iwaeEps! + (kk * batch + row) * L, count: L) })
    }

    /// `eps(row, dst)` and `iwaeEps(row, k, dst)` take the caller's row index.
    private func evaluate(
        batch: Int, input: UnsafePointer<Float>, iwaeK: Int, binarizeSeed: UInt64?, firstSampleIndex: Int,
        refineSeed: UInt64, eps: (Int, UnsafeMutablePointer<Float>) -> Void,
        iwaeEps: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) -> [PerSampleEval] {
        precondition(firstSampleIndex >= 0, "evaluate: negative firstSampleIndex \(firstSampleIndex)")
        let c = model.config
        let D = c.inputDim, L = c.latent, B = Self.blockRows
        let latent = act.latent
        let H = latent.headWidth, S = latent.importanceScratchWidth
        var results = [PerSampleEval](repeating: PerSampleEval(terms: model.emptyLossTerms()), count: max(0, batch))
        EvaluationBlocks.forEachPiece(first: firstSampleIndex, count: max(0, batch)) { offset, first, rows in
            let present = first..<(first + rows)
            loadBlock(input + offset * D, rows: present)
            if let seed = binarizeSeed {
                for p in present {
                    NoiseGenerator.binarize(seed: seed, epoch: 0, sampleIndex: firstSampleIndex + offset + p - first,
                                            x + p * D, count: D)
                }
            }
            keyWeights(base: firstSampleIndex + offset - first, present: present)
            encodeBlock()
            if let refiner {
                precondition(weightSample == nil, "posterior refinement uses the weights' means, not weight sample \(weightSample!)")
                refiner.refine(heads: act.heads, target: x, present: present, base: firstSampleIndex + offset - first,
                               seed: refineSeed)
            }

            // One-sample ELBO.
            act.z.update(repeating: 0, count: B * L)
            for p in present {
                eps(offset + p - first, epsRow)
                latent.evaluationSample(head: act.heads + p * H, noise: epsRow, z: act.z + p * L,
                                        terms: &results[offset + p - first].terms, first: 1)
            }
            decode(rows: B)
            for p in present {
                results[offset + p - first].terms[LossTerms.reconstruction] = reconRow(act.output + p * D, target: x + p * D)
            }

            guard iwaeK > 0 else { return }
            // The block's per-row work (σ, log-determinants) once, not once per importance sample.
            for p in present {
                lseMax[p] = -.infinity
                lseSum[p] = 0
                importanceConstant[p] = latent.prepareImportance(head: act.heads + p * H, scratch: importanceScratch + p * S)
            }
            // Importance samples k0..<k0+group of the whole block in one product, sample-major:
            // latent row (k - k0) * B + p, so a row's place depends on (k, p, K) only.
            var k0 = 0
            while k0 < iwaeK {
                let group = min(Self.iwaeSamplesPerDecode, iwaeK - k0)
                act.z.update(repeating: 0, count: group * B * L)
                for g in 0..<group {
                    for p in present {
                        let q = g * B + p
                        iwaeEps(offset + p - first, k0 + g, epsRow)
                        logRatio[q] = latent.importanceLogRatio(head: act.heads + p * H, scratch: importanceScratch + p * S,
                                                                constant: importanceConstant[p], noise: epsRow,
                                                                z: act.z + q * L)
                    }
                }
                keyWeights(base: firstSampleIndex + offset - first, present: present, groups: group,
                           decoderDraw: 1 + k0)
                decode(rows: group * B)
                for g in 0..<group {
                    for p in present {
                        let q = g * B + p
                        let logw = logRatio[q] - reconRow(act.output + q * D, target: x + p * D)
                        // Streaming logsumexp: rescale the running sum when a new maximum appears.
                        if logw > lseMax[p] {
                            lseSum[p] = lseSum[p] * Foundation.exp(lseMax[p] - logw) + 1
                            lseMax[p] = logw
                        } else {
                            lseSum[p] += Foundation.exp(logw - lseMax[p])
                        }
                    }
                }
                k0 += group
            }
            let logK = Foundation.log(Double(iwaeK))
            for p in present {
                let bound = lseMax[p] + Foundation.log(lseSum[p]) - logK
                results[offset + p - first].iwaeNLL = -bound
            }
        }
        return results
    }

    private func reconRow(_ o: UnsafePointer<Float>, target: UnsafePointer<Float>) -> Double {
        var r = 0.0
        let logVar = model.slots.likelihoodLogVar.map { UnsafePointer(model.parameters.baseAddress! + $0) }
        LikelihoodKernels.reconPerRow(output: o, target: target, rows: 1, cols: model.config.inputDim,
                                      likelihood: model.config.likelihood, logVar: logVar,
                                      scratch: reconScratch, into: &r)
        return r
    }

    /// Copies the caller's rows into block rows `rows` and zeros the others.
    private func loadBlock(_ src: UnsafePointer<Float>, rows: Range<Int>) {
        let D = model.config.inputDim, B = Self.blockRows
        x.update(repeating: 0, count: rows.lowerBound * D)
        (x + rows.lowerBound * D).update(from: src, count: rows.count * D)
        (x + rows.upperBound * D).update(repeating: 0, count: (B - rows.upperBound) * D)
    }

    private func encodeBlock() {
        act.encoder.forward(rows: Self.blockRows)
    }

    /// `rows` is `blockRows` or a whole IWAE group: fixed by the block layout, never by the caller.
    private func decode(rows: Int) {
        act.decoder.forward(rows: rows)
    }

    // MARK: Posterior and decoder access
    //
    // `firstIndex` places row r of the call at global index firstIndex + r, hence at block row
    // (firstIndex + r) % blockRows: pass the rows' indices in the dataset (or in whatever list the
    // caller draws them from) to get the same values as any other call on the same rows.

    /// Posterior means and the log-variances of each dimension's marginal posterior, each
    /// `batch x latent`; with `klPerDim`, also the latent block's term per dimension (for the VAE
    /// KL(q(z_j|x) ‖ N(0,1))), from the same encoding.
    public func encode(batch: Int, input: UnsafePointer<Float>, mu: UnsafeMutablePointer<Float>,
                       logvar: UnsafeMutablePointer<Float>, klPerDim: UnsafeMutablePointer<Float>? = nil,
                       firstIndex: Int = 0) {
        let D = model.config.inputDim, L = model.config.latent, H = act.latent.headWidth
        EvaluationBlocks.forEachPiece(first: firstIndex, count: batch) { offset, first, rows in
            loadBlock(input + offset * D, rows: first..<(first + rows))
            keyWeights(base: firstIndex + offset - first, present: first..<(first + rows))
            encodeBlock()
            let heads = UnsafePointer(act.heads + first * H)
            act.latent.posteriorMeans(heads: heads, rows: rows, into: mu + offset * L)
            act.latent.posteriorLogVariances(heads: heads, rows: rows, into: logvar + offset * L)
            if let klPerDim { act.latent.perDimensionTerm(heads: heads, rows: rows, into: klPerDim + offset * L) }
        }
    }

    /// The latent block's term of every latent dimension j, `batch x latent` (for the VAE
    /// KL(q(z_j|x) ‖ N(0,1)); rows sum to the KL).
    public func perDimensionKL(batch: Int, input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                               firstIndex: Int = 0) {
        let D = model.config.inputDim, L = model.config.latent, H = act.latent.headWidth
        EvaluationBlocks.forEachPiece(first: firstIndex, count: batch) { offset, first, rows in
            loadBlock(input + offset * D, rows: first..<(first + rows))
            keyWeights(base: firstIndex + offset - first, present: first..<(first + rows))
            encodeBlock()
            act.latent.perDimensionTerm(heads: act.heads + first * H, rows: rows, into: out + offset * L)
        }
    }

    /// Extra posterior `index` of `model.posteriorExtras` (cluster responsibilities, correlations),
    /// `batch x width`.
    public func posteriorExtra(_ index: Int, batch: Int, input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                               firstIndex: Int = 0) {
        let D = model.config.inputDim, H = act.latent.headWidth
        let W = act.latent.posteriorExtras[index].width
        EvaluationBlocks.forEachPiece(first: firstIndex, count: batch) { offset, first, rows in
            loadBlock(input + offset * D, rows: first..<(first + rows))
            encodeBlock()
            act.latent.posteriorExtra(index, heads: act.heads + first * H, rows: rows, into: out + offset * W)
        }
    }

    /// Saliency of an extra posterior: d extra[`index`][`component`] / d input for every row
    /// (`batch x inputDim`), through the same backward as `posteriorMeanGradient`. False, with
    /// `out` untouched, when the latent block does not differentiate that extra.
    public func posteriorExtraGradient(_ index: Int, component: Int, batch: Int, input: UnsafePointer<Float>,
                                       into out: UnsafeMutablePointer<Float>, firstIndex: Int = 0) -> Bool {
        let D = model.config.inputDim, B = Self.blockRows, H = act.latent.headWidth
        let extras = act.latent.posteriorExtras
        precondition(index >= 0 && index < extras.count, "posteriorExtraGradient: extra \(index) outside 0..<\(extras.count)")
        precondition(component >= 0 && component < extras[index].width,
                     "posteriorExtraGradient: component \(component) outside 0..<\(extras[index].width)")
        var supported = true
        EvaluationBlocks.forEachPiece(first: firstIndex, count: batch) { offset, first, rows in
            guard supported else { return }
            loadBlock(input + offset * D, rows: first..<(first + rows))
            encodeBlock()
            act.dheads.update(repeating: 0, count: B * H)
            guard act.latent.extraGradient(index, component: component, heads: act.heads + first * H, rows: rows,
                                           into: act.dheads + first * H) else {
                supported = false
                return
            }
            act.encoder.backward(rows: B, gradTop: act.dheads, topBiasDone: true, gradInput: inputGradient,
                                 parameterGradients: false)
            (out + offset * D).update(from: inputGradient + first * D, count: rows * D)
        }
        return supported
    }

    /// Decoder mean images for latent rows `z` (`batch x latent`): sigmoid of the logits for
    /// Bernoulli, the mean itself for Gaussian. Output `batch x inputDim`.
    public func decode(batch: Int, z zIn: UnsafePointer<Float>, output out: UnsafeMutablePointer<Float>,
                       firstIndex: Int = 0) {
        let D = model.config.inputDim, L = model.config.latent, B = Self.blockRows
        let output = act.output
        EvaluationBlocks.forEachPiece(first: firstIndex, count: batch) { offset, first, rows in
            act.z.update(repeating: 0, count: B * L)
            (act.z + first * L).update(from: zIn + offset * L, count: rows * L)
            keyWeights(base: firstIndex + offset - first, present: first..<(first + rows))
            decode(rows: B)
            let src = output + first * D, dst = out + offset * D
            if model.config.likelihood == .bernoulli {
                for i in 0..<(rows * D) { dst[i] = FastMath.sigmoid(src[i]) }
            } else {
                dst.update(from: src, count: rows * D)
            }
        }
    }

    /// Saliency: d mu[dimension] / d input for every row, `batch x inputDim`, through the same
    /// hand-written backward as training. `dimension` must be in 0..<latent.
    public func posteriorMeanGradient(batch: Int, input: UnsafePointer<Float>, dimension: Int,
                                      into out: UnsafeMutablePointer<Float>, firstIndex: Int = 0) {
        let D = model.config.inputDim, L = model.config.latent, B = Self.blockRows, H = act.latent.headWidth
        precondition(dimension >= 0 && dimension < L, "posteriorMeanGradient: dimension \(dimension) outside 0..<\(L)")
        let entry = act.latent.meanHeadIndex(dimension: dimension)
        EvaluationBlocks.forEachPiece(first: firstIndex, count: batch) { offset, first, rows in
            loadBlock(input + offset * D, rows: first..<(first + rows))
            keyWeights(base: firstIndex + offset - first, present: first..<(first + rows))
            encodeBlock()
            act.dheads.update(repeating: 0, count: B * H)
            for r in first..<(first + rows) { act.dheads[r * H + entry] = 1 }
            act.encoder.backward(rows: B, gradTop: act.dheads, topBiasDone: true, gradInput: inputGradient,
                                 parameterGradients: false)
            (out + offset * D).update(from: inputGradient + first * D, count: rows * D)
        }
    }
}
