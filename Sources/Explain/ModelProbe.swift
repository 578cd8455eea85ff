import VAE

/// The model questions the pictures ask (encode, decode, gradients), answered in batches of at
/// most `maxBatch` rows through one Evaluator whose buffers are allocated once. Row r of a
/// question is evaluated as index `firstIndex + r` (see `Evaluator`), so the answers do not depend
/// on `maxBatch`.
final class ModelProbe {
    let evaluator: Evaluator
    let maxBatch: Int
    let inputDim: Int
    let latent: Int
    private var input: [Float]
    private var muBuffer: [Float]
    private var logvarBuffer: [Float]
    private var out: [Float]

    init(model: VAEModel, maxBatch: Int) {
        self.maxBatch = max(1, maxBatch)
        inputDim = model.config.inputDim
        latent = model.config.latent
        evaluator = Evaluator(model: model)
        input = [Float](repeating: 0, count: self.maxBatch * inputDim)
        muBuffer = [Float](repeating: 0, count: self.maxBatch * latent)
        logvarBuffer = muBuffer
        out = input
    }

    /// Posterior means and log-variances of `rows` inputs laid out row-major in `x`, the samples at
    /// indices `firstIndex...` of the set they come from.
    func encode(_ x: [Float], rows: Int, firstIndex: Int = 0) -> (mu: [Float], logvar: [Float]) {
        var mu = [Float](), logvar = [Float]()
        mu.reserveCapacity(rows * latent); logvar.reserveCapacity(rows * latent)
        var start = 0
        while start < rows {
            let b = min(maxBatch, rows - start)
            x.withUnsafeBufferPointer { src in
                muBuffer.withUnsafeMutableBufferPointer { m in
                    logvarBuffer.withUnsafeMutableBufferPointer { l in
                        evaluator.encode(batch: b, input: src.baseAddress! + start * inputDim,
                                         mu: m.baseAddress!, logvar: l.baseAddress!, firstIndex: firstIndex + start)
                    }
                }
            }
            mu += muBuffer.prefix(b * latent)
            logvar += logvarBuffer.prefix(b * latent)
            start += b
        }
        return (mu, logvar)
    }

    /// Decoder means for `rows` latent codes laid out row-major in `z`.
    func decode(_ z: [Float], rows: Int) -> [Float] {
        mapInBatches(z, rows: rows, width: latent) { src, start, b, dst in
            evaluator.decode(batch: b, z: src, output: dst, firstIndex: start)
        }
    }

    /// d mu[dimension] / d x for each of `rows` inputs.
    func saliency(_ x: [Float], rows: Int, dimension: Int) -> [Float] {
        mapInBatches(x, rows: rows, width: inputDim) { src, start, b, dst in
            evaluator.posteriorMeanGradient(batch: b, input: src, dimension: dimension, into: dst, firstIndex: start)
        }
    }

    /// d extra[`extra`][`component`] / d x for each of `rows` inputs (a cluster's responsibility);
    /// nil when the model's latent block does not differentiate that extra.
    func extraSaliency(_ x: [Float], rows: Int, extra: Int, component: Int) -> [Float]? {
        var supported = true
        let g = mapInBatches(x, rows: rows, width: inputDim) { src, start, b, dst in
            if supported {
                supported = evaluator.posteriorExtraGradient(extra, component: component, batch: b, input: src, into: dst,
                                                             firstIndex: start)
            }
        }
        return supported ? g : nil
    }

    /// Runs `body(rows, first row, count, output)` on batches of at most `maxBatch` rows of
    /// `source` (rows of `width` values), each writing `inputDim` values a row into the shared
    /// output buffer, and concatenates them.
    private func mapInBatches(_ source: [Float], rows: Int, width: Int,
                              _ body: (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var result = [Float]()
        result.reserveCapacity(rows * inputDim)
        var start = 0
        while start < rows {
            let b = min(maxBatch, rows - start)
            source.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { o in body(src.baseAddress! + start * width, start, b, o.baseAddress!) }
            }
            result += out.prefix(b * inputDim)
            start += b
        }
        return result
    }
}
