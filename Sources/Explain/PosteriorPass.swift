import Datasets
import VAE

/// Encodes and evaluates one contiguous range of the evaluation set in bounded batches: memory is
/// O(batch x (input + K-sample scratch inside the Evaluator)) plus the per-sample results, never
/// N x K decoder outputs.
enum PosteriorPass {
    static func run(model: VAEModel, dataset: Dataset, range: Range<Int>, options: ExplainOptions,
                    progress: (Int) -> Void = { _ in }) -> PosteriorArrays {
        let d = model.config.latent, D = model.config.inputDim
        let batch = max(1, min(options.batchSize, max(range.count, 1)))
        let evaluator = Evaluator(model: model)
        var input = [Float](repeating: 0, count: batch * D)
        var mu = [Float](repeating: 0, count: batch * d), logvar = mu, klPerDim = mu
        var arrays = PosteriorArrays(latent: d, reservingCapacity: range.count)
        var start = range.lowerBound
        while start < range.upperBound {
            let b = min(batch, range.upperBound - start)
            input.withUnsafeMutableBufferPointer { x in
                for r in 0..<b { dataset.copySample(start + r, into: x.baseAddress! + r * D) }
            }
            let evals = input.withUnsafeBufferPointer { x -> [PerSampleEval] in
                mu.withUnsafeMutableBufferPointer { m in
                    logvar.withUnsafeMutableBufferPointer { l in
                        klPerDim.withUnsafeMutableBufferPointer { k in
                            evaluator.encode(batch: b, input: x.baseAddress!, mu: m.baseAddress!, logvar: l.baseAddress!,
                                             klPerDim: k.baseAddress!, firstIndex: start)
                        }
                    }
                }
                // The noise and the product a sample travels in are keyed by its global index, so
                // its result does not depend on which rank or batch it fell in.
                return evaluator.evaluate(batch: b, input: x.baseAddress!, noiseSeed: options.seed,
                                          firstSampleIndex: start, iwaeK: options.iwaeK)
            }
            mu.withUnsafeBufferPointer { m in
                logvar.withUnsafeBufferPointer { l in
                    klPerDim.withUnsafeBufferPointer { k in
                        arrays.append(rows: b, mu: m, logvar: l, klPerDim: k,
                                      negELBO: evals.map { Float($0.negativeELBO) },
                                      recon: evals.map { Float($0.recon) },
                                      negLogPxIWAE: options.iwaeK > 0 ? evals.map { Float($0.iwaeNLL ?? .nan) } : [])
                    }
                }
            }
            start += b
            progress(start - range.lowerBound)
        }
        return arrays
    }
}
