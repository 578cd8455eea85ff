import Foundation

/// Evaluation terms of one sample, in nats.
public struct PerSampleEval: Equatable {
    /// recon + kl (the ELBO with β = 1, whatever the training β), one posterior sample.
    public var negativeELBO: Double
    /// −log p(x | z) at that sample.
    public var recon: Double
    /// KL(q(z|x) ‖ N(0, I)), analytic.
    public var kl: Double
    /// −(IWAE bound): an upper estimate of −log p(x); nil when K = 0.
    public var iwaeNLL: Double?
}

/// Single-process inference: ELBO and IWAE per sample, encode, decode, per-dimension KL and
/// saliency. Every entry point accepts any `batch` and works through it in chunks of `maxBatch`
/// rows, so memory stays bounded by the chunk size (IWAE decodes its K samples in chunks of
/// `decodeRows` latent rows).
public final class Evaluator {
    public let model: VAEModel
    public let maxBatch: Int
    /// Latent rows decoded per GEMM chunk in IWAE (K samples of several inputs share a chunk).
    public let decodeRows: Int

    private let arena: BufferArena
    /// The chunk's input rows, copied (and binarized) from the caller's.
    private let x: UnsafeMutablePointer<Float>
    private let act: ForwardActivations
    private let epsRow: UnsafeMutablePointer<Float>
    private let sigma: UnsafeMutablePointer<Float>
    private var halfLogVarSum: [Double]
    private let reconScratch: UnsafeMutablePointer<Float>
    private var logRatio: [Double]
    private var owner: [Int]
    private var lseMax: [Double]
    private var lseSum: [Double]

    public init(model: VAEModel, maxBatch: Int) {
        self.model = model
        self.maxBatch = max(1, maxBatch)
        decodeRows = max(self.maxBatch, 512)
        let R = self.maxBatch, Rd = decodeRows
        let c = model.config
        var arena = BufferArena()
        x = arena.make(R * c.inputDim)
        act = ForwardActivations(model: model, input: x, encoderRows: R, decoderRows: Rd, backpropagatesDecoder: false)
        epsRow = arena.make(c.latent)
        sigma = arena.make(R * c.latent)
        reconScratch = arena.make(c.inputDim)
        self.arena = arena
        logRatio = Array(repeating: 0, count: Rd)
        owner = Array(repeating: 0, count: Rd)
        lseMax = Array(repeating: 0, count: R)
        lseSum = Array(repeating: 0, count: R)
        halfLogVarSum = Array(repeating: 0, count: R)
    }

    // MARK: ELBO and IWAE

    /// Per-sample −ELBO, recon, KL and (if `iwaeK > 0`) the IWAE estimate of −log p(x) for the
    /// rows of `input` (`batch x inputDim`). Noise comes from the counter RNG keyed by
    /// (`noiseSeed`, sample index = `firstSampleIndex + row`), so results do not depend on how
    /// the rows are split across calls or ranks. With dynamic binarization the rows are binarized
    /// from the same key.
    public func evaluate(batch: Int, input: UnsafePointer<Float>, noiseSeed: UInt64, firstSampleIndex: Int,
                         iwaeK: Int) -> [PerSampleEval] {
        let L = model.config.latent
        return evaluate(batch: batch, input: input, iwaeK: iwaeK, binarizeSeed: model.config.binarize ? noiseSeed : nil,
                        firstSampleIndex: firstSampleIndex,
                        eps: { row, dst in
                            NoiseGenerator.fillGaussian(seed: noiseSeed, epoch: 0, sampleIndex: firstSampleIndex + row,
                                                        stream: NoiseGenerator.evaluationStream, into: dst, count: L)
                        },
                        iwaeEps: { row, k, dst in
                            NoiseGenerator.fillGaussian(seed: noiseSeed, epoch: 0, sampleIndex: firstSampleIndex + row,
                                                        stream: NoiseGenerator.iwaeStreamBase + k, into: dst, count: L)
                        })
    }

    /// The same with explicit noise: `eps` is `batch x latent`; `iwaeEps` is `iwaeK x batch x latent`
    /// (sample-major, as the reference fixture stores it). Inputs are used as given (no binarization).
    public func evaluate(batch: Int, input: UnsafePointer<Float>, eps: UnsafePointer<Float>,
                         iwaeEps: UnsafePointer<Float>?, iwaeK: Int) -> [PerSampleEval] {
        let L = model.config.latent
        let k = iwaeEps == nil ? 0 : iwaeK
        return evaluate(batch: batch, input: input, iwaeK: k, binarizeSeed: nil, firstSampleIndex: 0,
                        eps: { row, dst in dst.update(from: eps + row * L, count: L) },
                        iwaeEps: { row, kk, dst in dst.update(from: iwaeEps! + (kk * batch + row) * L, count: L) })
    }

    private func evaluate(
        batch: Int, input: UnsafePointer<Float>, iwaeK: Int, binarizeSeed: UInt64?, firstSampleIndex: Int,
        eps: (Int, UnsafeMutablePointer<Float>) -> Void,
        iwaeEps: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) -> [PerSampleEval] {
        let c = model.config
        let D = c.inputDim, L = c.latent
        var results: [PerSampleEval] = []
        results.reserveCapacity(max(0, batch))
        var start = 0
        while start < batch {
            let rows = min(maxBatch, batch - start)
            x.update(from: input + start * D, count: rows * D)
            if let seed = binarizeSeed {
                for r in 0..<rows {
                    NoiseGenerator.binarize(seed: seed, epoch: 0, sampleIndex: firstSampleIndex + start + r, x + r * D, count: D)
                }
            }
            encodeChunk(rows: rows)

            // One-sample ELBO.
            var kls = [Double](repeating: 0, count: rows)
            for r in 0..<rows {
                eps(start + r, epsRow)
                kls[r] = sampleLatent(row: r, eps: epsRow, into: act.z + r * L)
            }
            decodeChunk(rows: rows)
            for r in 0..<rows {
                let recon = reconRow(act.output + r * D, target: x + r * D)
                results.append(PerSampleEval(negativeELBO: recon + kls[r], recon: recon, kl: kls[r], iwaeNLL: nil))
            }

            if iwaeK > 0 {
                // σ and Σ logvar per row once, not once per importance sample.
                for r in 0..<rows {
                    lseMax[r] = -.infinity
                    lseSum[r] = 0
                    let lv = act.heads + r * 2 * L + L
                    var sum = 0.0
                    for j in 0..<L {
                        sigma[r * L + j] = FastMath.exp(0.5 * lv[j])
                        sum += Double(lv[j])
                    }
                    halfLogVarSum[r] = 0.5 * sum
                }
                let total = rows * iwaeK
                var p = 0
                while p < total {
                    let count = min(decodeRows, total - p)
                    for q in 0..<count {
                        let r = (p + q) / iwaeK, k = (p + q) % iwaeK
                        iwaeEps(start + r, k, epsRow)
                        owner[q] = r
                        logRatio[q] = importanceLogRatio(row: r, eps: epsRow, into: act.z + q * L)
                    }
                    decodeChunk(rows: count)
                    for q in 0..<count {
                        let r = owner[q]
                        let logw = logRatio[q] - reconRow(act.output + q * D, target: x + r * D)
                        // Streaming logsumexp: rescale the running sum when a new maximum appears.
                        if logw > lseMax[r] {
                            lseSum[r] = lseSum[r] * Foundation.exp(lseMax[r] - logw) + 1
                            lseMax[r] = logw
                        } else {
                            lseSum[r] += Foundation.exp(logw - lseMax[r])
                        }
                    }
                    p += count
                }
                let logK = Foundation.log(Double(iwaeK))
                for r in 0..<rows {
                    let bound = lseMax[r] + Foundation.log(lseSum[r]) - logK
                    results[start + r].iwaeNLL = -bound
                }
            }
            start += rows
        }
        return results
    }

    /// z = mu + σ·eps for chunk row `row`; returns that row's KL.
    private func sampleLatent(row r: Int, eps e: UnsafePointer<Float>, into zr: UnsafeMutablePointer<Float>) -> Double {
        let L = model.config.latent
        let mu = act.heads + r * 2 * L, lv = mu + L
        var kl = 0.0
        for j in 0..<L {
            let m = Double(mu[j]), v = Double(lv[j])
            let sigma = Foundation.exp(0.5 * v)
            zr[j] = Float(m + sigma * Double(e[j]))
            kl += 0.5 * (m * m + sigma * sigma - 1 - v)
        }
        return kl
    }

    /// Writes z = mu + σ·eps and returns log p(z) − log q(z|x) (the 2π constants cancel):
    /// −0.5·Σ z² + 0.5·Σ eps² + 0.5·Σ logvar.
    private func importanceLogRatio(row r: Int, eps e: UnsafePointer<Float>, into zr: UnsafeMutablePointer<Float>) -> Double {
        let L = model.config.latent
        let mu = act.heads + r * 2 * L, sd = sigma + r * L
        var zz: Float = 0, ee: Float = 0
        for j in 0..<L {
            let zj = mu[j] + sd[j] * e[j]
            zr[j] = zj
            zz += zj * zj
            ee += e[j] * e[j]
        }
        return 0.5 * Double(ee - zz) + halfLogVarSum[r]
    }

    private func reconRow(_ o: UnsafePointer<Float>, target: UnsafePointer<Float>) -> Double {
        var r = 0.0
        let logVar = model.slots.likelihoodLogVar.map { UnsafePointer(model.parameters.baseAddress! + $0) }
        LikelihoodKernels.reconPerRow(output: o, target: target, rows: 1, cols: model.config.inputDim,
                                      likelihood: model.config.likelihood, logVar: logVar,
                                      scratch: reconScratch, into: &r)
        return r
    }

    private func encodeChunk(rows: Int) {
        act.encoder.forward(rows: rows)
    }

    private func decodeChunk(rows: Int) {
        act.decoder.forward(rows: rows)
    }

    // MARK: Posterior and decoder access

    /// Posterior means and log-variances, each `batch x latent`.
    public func encode(batch: Int, input: UnsafePointer<Float>, mu: UnsafeMutablePointer<Float>,
                       logvar: UnsafeMutablePointer<Float>) {
        let D = model.config.inputDim, L = model.config.latent
        forEachChunk(batch) { start, rows in
            x.update(from: input + start * D, count: rows * D)
            encodeChunk(rows: rows)
            for r in 0..<rows {
                (mu + (start + r) * L).update(from: act.heads + r * 2 * L, count: L)
                (logvar + (start + r) * L).update(from: act.heads + r * 2 * L + L, count: L)
            }
        }
    }

    /// KL(q(z_j|x) ‖ N(0,1)) of every latent dimension j, `batch x latent`; rows sum to the KL.
    public func perDimensionKL(batch: Int, input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let D = model.config.inputDim, L = model.config.latent
        forEachChunk(batch) { start, rows in
            x.update(from: input + start * D, count: rows * D)
            encodeChunk(rows: rows)
            Reparameterization.perDimensionKL(heads: act.heads, rows: rows, latent: L, into: out + start * L)
        }
    }

    /// Decoder mean images for latent rows `z` (`batch x latent`): sigmoid of the logits for
    /// Bernoulli, the mean itself for Gaussian. Output `batch x inputDim`.
    public func decode(batch: Int, z zIn: UnsafePointer<Float>, output out: UnsafeMutablePointer<Float>) {
        let D = model.config.inputDim, L = model.config.latent
        let output = act.output
        var start = 0
        while start < batch {
            let rows = min(decodeRows, batch - start)
            act.z.update(from: zIn + start * L, count: rows * L)
            decodeChunk(rows: rows)
            let dst = out + start * D
            if model.config.likelihood == .bernoulli {
                for i in 0..<(rows * D) {
                    let l = output[i]
                    let e = FastMath.exp(-abs(l))
                    dst[i] = l >= 0 ? 1 / (1 + e) : e / (1 + e)
                }
            } else {
                dst.update(from: output, count: rows * D)
            }
            start += rows
        }
    }

    /// Saliency: d mu[dimension] / d input for every row, `batch x inputDim`, through the same
    /// hand-written backward as training. `dimension` must be in 0..<latent.
    public func posteriorMeanGradient(batch: Int, input: UnsafePointer<Float>, dimension: Int,
                                      into out: UnsafeMutablePointer<Float>) {
        let D = model.config.inputDim, L = model.config.latent
        precondition(dimension >= 0 && dimension < L, "posteriorMeanGradient: dimension \(dimension) outside 0..<\(L)")
        forEachChunk(batch) { start, rows in
            x.update(from: input + start * D, count: rows * D)
            encodeChunk(rows: rows)
            act.dheads.update(repeating: 0, count: rows * 2 * L)
            for r in 0..<rows { act.dheads[r * 2 * L + dimension] = 1 }
            act.encoder.backward(rows: rows, gradTop: act.dheads, topBiasDone: true, gradInput: out + start * D,
                                 parameterGradients: false)
        }
    }

    private func forEachChunk(_ batch: Int, _ body: (Int, Int) -> Void) {
        var start = 0
        while start < batch {
            let rows = min(maxBatch, batch - start)
            body(start, rows)
            start += rows
        }
    }
}
