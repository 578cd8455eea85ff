import Foundation
import XCTest
@testable import VAE

final class EvaluatorTests: XCTestCase {
    private let config = ModelConfig(inputDim: 9, encoderHidden: [7, 5], latent: 3, activation: .tanh)

    private func data(_ rows: Int) -> [Float] { (0..<(rows * 9)).map { Float(($0 * 31) % 19) / 18 } }

    /// A sample's values must not depend on how its rows are batched into calls (or ranks): BLAS
    /// rounds a row differently in products of different shapes (OpenBLAS's small-matrix and tail
    /// kernels on Intel AVX-512), so this holds bit for bit only because every sample travels at
    /// its own row of a product of fixed shape. The comparison is exact on any kernel for that
    /// reason; the model is the benchmark's, large enough for sgemm to take its blocked paths.
    func testResultsDoNotDependOnChunkingOrSplitting() {
        let model = VAEModel(config: .benchmark, seed: 4)
        let D = 784, L = 32
        let n = 150, first = 100  // blocks 1 to 3, starting and ending inside a block
        let x: [Float] = (0..<(n * D)).map { Float(($0 * 31) % 19) / 18 }
        let whole = Evaluator(model: model).evaluate(batch: n, input: x, noiseSeed: 5, firstSampleIndex: first, iwaeK: 11)
        XCTAssertTrue(whole.allSatisfy { $0.iwaeNLL != nil && $0.negativeELBO.isFinite })
        for cuts in [[1, 2, 61, 5, 81], [28, 64, 58], [149, 1]] {
            let ev = Evaluator(model: model)
            var pieces: [PerSampleEval] = []
            var mu = [Float](repeating: 0, count: n * L), logvar = mu
            var start = 0
            x.withUnsafeBufferPointer { xs in
                mu.withUnsafeMutableBufferPointer { m in
                    logvar.withUnsafeMutableBufferPointer { l in
                        for c in cuts {
                            let src = xs.baseAddress! + start * D
                            pieces += ev.evaluate(batch: c, input: src, noiseSeed: 5, firstSampleIndex: first + start, iwaeK: 11)
                            ev.encode(batch: c, input: src, mu: m.baseAddress! + start * L, logvar: l.baseAddress! + start * L,
                                      firstIndex: first + start)
                            start += c
                        }
                    }
                }
            }
            XCTAssertEqual(pieces, whole, "calls of \(cuts) rows")
            var mu1 = [Float](repeating: 0, count: n * L), logvar1 = mu1
            ev.encode(batch: n, input: x, mu: &mu1, logvar: &logvar1, firstIndex: first)
            XCTAssertEqual(mu.map(\.bitPattern), mu1.map(\.bitPattern), "mu, calls of \(cuts) rows")
            XCTAssertEqual(logvar.map(\.bitPattern), logvar1.map(\.bitPattern), "logvar, calls of \(cuts) rows")
        }
        // Decoding and saliency follow the same blocks.
        let ev = Evaluator(model: model)
        let z: [Float] = (0..<(n * L)).map { Float(($0 * 7) % 13) / 6 - 1 }
        var all = [Float](repeating: 0, count: n * D), part = all
        ev.decode(batch: n, z: z, output: &all, firstIndex: first)
        z.withUnsafeBufferPointer { zs in
            part.withUnsafeMutableBufferPointer { o in
                ev.decode(batch: 37, z: zs.baseAddress!, output: o.baseAddress!, firstIndex: first)
                ev.decode(batch: n - 37, z: zs.baseAddress! + 37 * L, output: o.baseAddress! + 37 * D, firstIndex: first + 37)
            }
        }
        XCTAssertEqual(all.map(\.bitPattern), part.map(\.bitPattern), "decode")
        ev.posteriorMeanGradient(batch: n, input: x, dimension: 3, into: &all, firstIndex: first)
        x.withUnsafeBufferPointer { xs in
            part.withUnsafeMutableBufferPointer { o in
                ev.posteriorMeanGradient(batch: 90, input: xs.baseAddress!, dimension: 3, into: o.baseAddress!, firstIndex: first)
                ev.posteriorMeanGradient(batch: n - 90, input: xs.baseAddress! + 90 * D, dimension: 3,
                                         into: o.baseAddress! + 90 * D, firstIndex: first + 90)
            }
        }
        XCTAssertEqual(all.map(\.bitPattern), part.map(\.bitPattern), "saliency")
    }

    func testBlocksCoverTheDataInWholeBlocksPerRank() {
        let B = EvaluationBlocks.rows
        for count in [0, 1, B - 1, B, B + 1, 166, 10_000] {
            for size in 1...5 {
                let shares = (0..<size).map { EvaluationBlocks.share(samples: count, rank: $0, worldSize: size) }
                XCTAssertEqual(shares.first?.lowerBound, 0)
                XCTAssertEqual(shares.last?.upperBound, count)
                for k in 1..<size { XCTAssertEqual(shares[k - 1].upperBound, shares[k].lowerBound) }
                for s in shares where s.upperBound < count { XCTAssertEqual(s.upperBound % B, 0, "\(count) over \(size)") }
            }
        }
    }

    func testIWAEWithManySamplesTightensTheBound() {
        let model = VAEModel(config: config, seed: 4)
        let x = data(20)
        let ev = Evaluator(model: model)
        let k1 = ev.evaluate(batch: 20, input: x, noiseSeed: 1, firstSampleIndex: 0, iwaeK: 1).compactMap(\.iwaeNLL)
        let k200 = ev.evaluate(batch: 20, input: x, noiseSeed: 1, firstSampleIndex: 0, iwaeK: 200)
        let mean1 = k1.reduce(0, +) / 20
        let mean200 = k200.compactMap(\.iwaeNLL).reduce(0, +) / 20
        let elbo = k200.map(\.negativeELBO).reduce(0, +) / 20
        XCTAssertLessThan(mean200, mean1)
        XCTAssertLessThan(mean200, elbo)
    }

    func testEncodeDecodeAndPerDimensionKLAgreeWithTheTrainingForward() {
        let model = VAEModel(config: config, seed: 8)
        let rows = 5
        let ws = TrainingWorkspace(model: model, maxBatch: rows)
        let x = data(rows)
        for i in 0..<x.count { ws.input[i] = x[i] }
        ws.prepareNoise(batch: rows, seed: 2, epoch: 0, sampleIndices: 0..<rows)
        let klSum = ws.forward(batch: rows).regularizer
        let ev = Evaluator(model: model)
        var mu = [Float](repeating: 0, count: rows * 3), lv = mu, perDim = mu
        ev.encode(batch: rows, input: x, mu: &mu, logvar: &lv)
        ev.perDimensionKL(batch: rows, input: x, into: &perDim)
        for r in 0..<rows {
            for j in 0..<3 {
                XCTAssertEqual(mu[r * 3 + j], ws.headsView[r * 6 + j], accuracy: 1e-6)
                XCTAssertEqual(lv[r * 3 + j], ws.headsView[r * 6 + 3 + j], accuracy: 1e-6)
            }
        }
        XCTAssertEqual(Double(perDim.reduce(0, +)), klSum, accuracy: 1e-4)
        XCTAssertTrue(perDim.allSatisfy { $0 >= 0 })

        var image = [Float](repeating: 0, count: rows * 9)
        let z = Array(ws.zView.prefix(rows * 3))
        ev.decode(batch: rows, z: z, output: &image)
        for i in 0..<(rows * 9) {
            let logit = Double(ws.outputView[i])
            XCTAssertEqual(Double(image[i]), 1 / (1 + Foundation.exp(-logit)), accuracy: 1e-6)
        }
    }

    /// Saliency against central differences of the float64 reference encoder.
    func testPosteriorMeanGradientMatchesFiniteDifferences() {
        for activation in Activation.allCases {
            var c = config
            c.activation = activation
            let model = VAEModel(config: c, seed: 6)
            let ref = DoubleReference(model: model)
            let theta = model.parameters.map(Double.init)
            let rows = 3
            let x = data(rows)
            let ev = Evaluator(model: model)
            for dim in 0..<3 {
                var grad = [Float](repeating: 0, count: rows * 9)
                ev.posteriorMeanGradient(batch: rows, input: x, dimension: dim, into: &grad)
                for r in 0..<rows {
                    let row = x[(r * 9)..<((r + 1) * 9)].map(Double.init)
                    for k in 0..<9 {
                        var plus = row, minus = row
                        plus[k] += 1e-6
                        minus[k] -= 1e-6
                        let zero = [Double](repeating: 0, count: 3)
                        let numeric = (ref.row(params: theta, x: plus, eps: zero).mu[dim]
                                       - ref.row(params: theta, x: minus, eps: zero).mu[dim]) / 2e-6
                        XCTAssertEqual(Double(grad[r * 9 + k]), numeric, accuracy: 1e-4 + 1e-3 * abs(numeric),
                                       "\(activation) dim \(dim) row \(r) pixel \(k)")
                    }
                }
            }
        }
    }

    func testGaussianLearnedEvaluationMatchesReference() {
        var c = config
        c.likelihood = .gaussianLearned
        let model = VAEModel(config: c, seed: 2)
        let s = model.parameter(named: "likelihood.logvar")!
        for j in 0..<s.count { s[j] = Float(j) * 0.1 - 0.3 }
        let x = data(3)
        let eps: [Float] = (0..<9).map { Float($0) * 0.2 - 0.8 }
        let results = Evaluator(model: model).evaluate(batch: 3, input: x, eps: eps, iwaeEps: nil, iwaeK: 0)
        let ref = DoubleReference(model: model)
        let theta = model.parameters.map(Double.init)
        for r in 0..<3 {
            let t = ref.row(params: theta, x: x[(r * 9)..<((r + 1) * 9)].map(Double.init), eps: eps[(r * 3)..<((r + 1) * 3)].map(Double.init))
            XCTAssertEqual(results[r].recon, t.recon, accuracy: 1e-4)
            XCTAssertEqual(results[r].kl, t.kl, accuracy: 1e-5)
            XCTAssertNil(results[r].iwaeNLL)
        }
    }
}
