import Foundation
import XCTest
@testable import VAE

final class EvaluatorTests: XCTestCase {
    private let config = ModelConfig(inputDim: 9, encoderHidden: [7, 5], latent: 3, activation: .tanh)

    private func data(_ rows: Int) -> [Float] { (0..<(rows * 9)).map { Float(($0 * 31) % 19) / 18 } }

    func testResultsDoNotDependOnChunkingOrSplitting() {
        let model = VAEModel(config: config, seed: 4)
        let x = data(11)
        let whole = Evaluator(model: model, maxBatch: 64).evaluate(batch: 11, input: x, noiseSeed: 5, firstSampleIndex: 100, iwaeK: 7)
        let small = Evaluator(model: model, maxBatch: 2).evaluate(batch: 11, input: x, noiseSeed: 5, firstSampleIndex: 100, iwaeK: 7)
        let ev = Evaluator(model: model, maxBatch: 4)
        let head = ev.evaluate(batch: 6, input: x, noiseSeed: 5, firstSampleIndex: 100, iwaeK: 7)
        let tail = Array(x[(6 * 9)...]).withUnsafeBufferPointer {
            ev.evaluate(batch: 5, input: $0.baseAddress!, noiseSeed: 5, firstSampleIndex: 106, iwaeK: 7)
        }
        XCTAssertEqual(whole, small)
        XCTAssertEqual(whole, head + tail)
        XCTAssertTrue(whole.allSatisfy { $0.iwaeNLL != nil && $0.negativeELBO.isFinite })
    }

    func testIWAEWithManySamplesTightensTheBound() {
        let model = VAEModel(config: config, seed: 4)
        let x = data(20)
        let ev = Evaluator(model: model, maxBatch: 8)
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
        let klSum = ws.forward(batch: rows)
        let ev = Evaluator(model: model, maxBatch: 2)
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
            let ev = Evaluator(model: model, maxBatch: 2)
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
        let results = Evaluator(model: model, maxBatch: 3).evaluate(batch: 3, input: x, eps: eps, iwaeEps: nil, iwaeK: 0)
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
