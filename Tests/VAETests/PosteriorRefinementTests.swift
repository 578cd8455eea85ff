import Foundation
import XCTest
@testable import VAE

/// Posterior refinement at evaluation: its gradient is the per-sample −ELBO's (central finite
/// differences, both Gaussian families and every likelihood), it lowers the −ELBO and the
/// ELBO–IWAE gap it is there to measure, a sample's refined result does not depend on how its
/// rows are split into calls (so not on the rank count either), and the mixture is refused.
final class PosteriorRefinementTests: XCTestCase {
    private static func config(posterior: String, likelihood: Likelihood = .bernoulli) -> ModelConfig {
        var c = ModelConfig(inputDim: 12, encoderHidden: [10], latent: 3, decoderHidden: [9], activation: .tanh,
                            likelihood: likelihood)
        c.posterior = posterior
        return c
    }

    private static func data(rows: Int, dim: Int) -> [Float] {
        (0..<(rows * dim)).map { Float(($0 * 37) % 17) / 16 }
    }

    func testGradientIsTheELBOsByCentralFiniteDifferences() throws {
        let dense: [(String, Likelihood)] = [("diagonal", .bernoulli), ("full", .bernoulli), ("full", .gaussianLearned),
                                              ("diagonal", .gaussianFixed(variance: 0.3))]
        var cases = dense.map { ($0.0, $0.1, Self.config(posterior: $0.0, likelihood: $0.1)) }
        // A transposed-convolution decoder: its input gradient without parameter gradients.
        var conv = ModelConfig(inputDim: 2 * 9 * 9, encoderHidden: [], latent: 3, activation: .tanh, likelihood: .gaussianLearned)
        conv.encoder = try LayerSpec.parseList("conv:3k3s2,dense:6", flag: "encoder")
        conv.decoder = try LayerSpec.parseList("dense:5,convT:3k3s2", flag: "decoder")
        conv.inputShape = [2, 9, 9]
        conv.posterior = "full"
        cases.append(("full, conv", .gaussianLearned, conv))
        for (posterior, likelihood, config) in cases {
            try config.validate()
            let model = VAEModel(config: config, seed: 2)
            // Two rows: the loss is summed in Float, and over a whole block its rounding would be
            // most of a central difference.
            let B = 2, D = config.inputDim
            let H = model.architecture.latent.headWidth
            for samples in [1, 3] {
                let refiner = PosteriorRefinement(model: model, rows: B, settings: RefinementSettings(steps: 1, samples: samples))
                let target = Self.data(rows: B, dim: D)
                // Heads off the encoder's output, with non-zero correlations for the full family.
                var heads: [Float] = (0..<(B * H)).map { Float(sin(Double($0) * 0.91)) * 0.8 }
                let present = 0..<B
                func loss() -> Double {
                    heads.withUnsafeBufferPointer { h in
                        target.withUnsafeBufferPointer { x in
                            refiner.objective(heads: h.baseAddress!, target: x.baseAddress!, present: present, base: 70,
                                              seed: 9, step: 4)
                        }
                    }
                }
                _ = loss()
                let analytic = Array(UnsafeBufferPointer(start: refiner.gradient, count: B * H))
                let h: Float = 1e-2
                var worst = 0.0, worstAt = ""
                for i in 0..<(B * H) {
                    let saved = heads[i]
                    heads[i] = saved + h
                    let plus = loss()
                    heads[i] = saved - h
                    let minus = loss()
                    heads[i] = saved
                    let numeric = (plus - minus) / (2 * Double(h))
                    let err = abs(numeric - Double(analytic[i])) / (0.05 + abs(numeric))
                    if err > worst { worst = err; worstAt = "row \(i / H) entry \(i % H): numeric \(numeric) analytic \(analytic[i])" }
                }
                XCTAssertLessThan(worst, 2e-2, "\(posterior), \(likelihood), \(samples) samples: worst \(worstAt)")
            }
        }
    }

    /// Starting from the encoder's output, refining lowers the −ELBO and, with the proposal closer
    /// to the posterior, the gap to the IWAE bound. The model is trained a little so the encoder's
    /// posterior is a real one, not noise, and still far from each sample's best.
    func testRefinementLowersTheELBOAndTheGap() throws {
        for posterior in ["diagonal", "full"] {
            let config = Self.config(posterior: posterior)
            let model = VAEModel(config: config, seed: 5)
            let n = 256, D = config.inputDim
            // Eight binary patterns the three latent dimensions have to tell apart.
            let x = (0..<(n * D)).map { i -> Float in
                let pattern = (i / D) % 8, j = i % D
                return (pattern >> (j % 3)) & 1 == 1 ? 0.95 : 0.05
            }
            let ws = TrainingWorkspace(model: model, maxBatch: 64)
            let adam = Adam(count: model.parameterCount, lr: 1e-2)
            // A few steps: the encoder has learned something, and far from all of it.
            for step in 0..<30 {
                let first = (step * 64) % n
                for i in 0..<(64 * D) { ws.input[i] = x[first * D + i] }
                ws.prepareNoise(batch: 64, seed: 1, epoch: step, sampleIndices: first..<(first + 64))
                _ = ws.forwardBackward(batch: 64, klWeight: 1, gradScale: 1 / 64)
                adam.update(parameters: model.parameters, gradients: model.gradients)
            }
            let plain = Evaluator(model: model).evaluate(batch: n, input: x, noiseSeed: 3, firstSampleIndex: 0, iwaeK: 50)
            let ev = Evaluator(model: model)
            ev.refinement = RefinementSettings(steps: 200, learningRate: 0.03, samples: 4)
            let refined = ev.evaluate(batch: n, input: x, noiseSeed: 3, firstSampleIndex: 0, iwaeK: 50)
            func mean(_ r: [PerSampleEval], _ f: (PerSampleEval) -> Double) -> Double { r.map(f).reduce(0, +) / Double(r.count) }
            let elbo0 = mean(plain) { $0.negativeELBO }, elbo1 = mean(refined) { $0.negativeELBO }
            let gap0 = elbo0 - mean(plain) { $0.iwaeNLL! }, gap1 = elbo1 - mean(refined) { $0.iwaeNLL! }
            XCTAssertLessThan(elbo1, elbo0 - 0.01, "\(posterior): refined -ELBO \(elbo1) against \(elbo0)")
            XCTAssertLessThan(gap1, 0.9 * gap0, "\(posterior): refined gap \(gap1) against \(gap0)")
            // The IWAE bound estimates the same -log p(x) either way: refining moves it little.
            XCTAssertEqual(mean(refined) { $0.iwaeNLL! }, mean(plain) { $0.iwaeNLL! }, accuracy: max(0.5, gap0))
        }
    }

    /// As in `EvaluatorTests`: a sample travels at its own row of a product of fixed shape, and its
    /// refinement noise is keyed by its index, so any split of the rows into calls gives the same
    /// bits; zero steps is the unrefined evaluation.
    func testRefinedResultsDoNotDependOnSplitting() throws {
        let model = VAEModel(config: .benchmark, seed: 4)
        let D = 784, n = 150, first = 100
        let x: [Float] = (0..<(n * D)).map { Float(($0 * 31) % 19) / 18 }
        let settings = RefinementSettings(steps: 4, learningRate: 0.02, samples: 2)
        let ev = Evaluator(model: model)
        ev.refinement = settings
        let whole = ev.evaluate(batch: n, input: x, noiseSeed: 5, firstSampleIndex: first, iwaeK: 3)
        let pieces = Evaluator(model: model)
        pieces.refinement = settings
        var split: [PerSampleEval] = []
        x.withUnsafeBufferPointer { xs in
            var start = 0
            for c in [29, 64, 57] {
                split += pieces.evaluate(batch: c, input: xs.baseAddress! + start * D, noiseSeed: 5,
                                         firstSampleIndex: first + start, iwaeK: 3)
                start += c
            }
        }
        XCTAssertEqual(split, whole)
        let plain = Evaluator(model: model).evaluate(batch: n, input: x, noiseSeed: 5, firstSampleIndex: first, iwaeK: 3)
        XCTAssertNotEqual(plain, whole, "refinement changed nothing")
        ev.refinement = RefinementSettings(steps: 0)
        XCTAssertEqual(ev.evaluate(batch: n, input: x, noiseSeed: 5, firstSampleIndex: first, iwaeK: 3), plain)
    }

    func testOnlyTheGaussianPosteriorsAreRefined() throws {
        XCTAssertNil(Evaluator.refinementUnsupported(VAEModel(config: Self.config(posterior: "diagonal"), seed: 1)))
        XCTAssertNil(Evaluator.refinementUnsupported(VAEModel(config: Self.config(posterior: "full"), seed: 1)))
        var mixture = Self.config(posterior: "diagonal")
        mixture.variant = ModelConfig.mixtureVariant
        mixture.clusters = 3
        try mixture.validate()
        let reason = try XCTUnwrap(Evaluator.refinementUnsupported(VAEModel(config: mixture, seed: 1)))
        XCTAssertTrue(reason.contains("Gaussian posteriors"), reason)
    }
}
