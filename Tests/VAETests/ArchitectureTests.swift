import Foundation
import XCTest
import Linalg
@testable import VAE

/// The model from its config: specs parsed or refused in one line, shapes worked out or refused
/// with the shapes spelled out, tensors named by structure, and the gradient of a whole
/// convolutional VAE against finite differences.
final class ArchitectureTests: XCTestCase {
    func conv(_ enc: String, _ dec: String, latent: Int = 3, shape: [Int] = [1, 28, 28],
              activation: Activation = .relu, likelihood: Likelihood = .bernoulli) throws -> ModelConfig {
        var c = ModelConfig(inputDim: shape.reduce(1, *), encoderHidden: [], latent: latent, activation: activation,
                            likelihood: likelihood)
        c.encoder = try LayerSpec.parseList(enc, flag: "encoder")
        c.decoder = try LayerSpec.parseList(dec, flag: "decoder")
        c.inputShape = shape
        return c
    }

    func error(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("expected an error")
        return ""
    }

    func testSpecsRoundTripAndBadOnesAreOneLine() throws {
        let text = "conv:32k4s2,conv:64k4s2p1,pool:k3s2p1,dense:256"
        XCTAssertEqual(LayerSpec.listDescription(try LayerSpec.parseList(text, flag: "encoder")), text)
        XCTAssertEqual(try LayerSpec(parsing: "convT:8k3s2o1", flag: "decoder"),
                       .convTranspose(channels: 8, kernel: 3, stride: 2, padding: nil, outputPadding: 1))
        for (bad, says) in [("conv:32k4", "no stride"), ("conv:k4s2", "expected a number"), ("dense:0", ">= 1"),
                            ("pool:k2s2x1", "unknown field 'x'"), ("lstm:5", "unknown layer kind"), ("conv32k4s2", "no kind"),
                            ("convT:8k4s2o2", "output padding 2 must be smaller than the stride 2")] {
            let message = error { _ = try LayerSpec.parseList("dense:16,\(bad)", flag: "encoder") }
            XCTAssertTrue(message.hasPrefix("--encoder \"\(bad)\""), message)
            XCTAssertTrue(message.contains(says), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    /// `bconvT:` parses like `convT:`, round-trips, is refused in one line when malformed, and
    /// builds the Bayesian transposed convolution (alone, or every one under `--bayesian-weights`)
    /// with the deterministic layer's shapes under `.mu` / `.rho` names.
    func testBayesianTransposedConvolutionSpec() throws {
        let spec = try LayerSpec(parsing: "bconvT:8k4s2p1o1", flag: "decoder")
        XCTAssertEqual(spec, .bayesianConvTranspose(channels: 8, kernel: 4, stride: 2, padding: 1, outputPadding: 1))
        XCTAssertEqual(spec.description, "bconvT:8k4s2p1o1")
        XCTAssertTrue(spec.isBayesian)
        for (bad, says) in [("bconvT:8k4", "no stride"), ("bconvT:8k4s2o3", "output padding 3 must be smaller than the stride 2")] {
            let message = error { _ = try LayerSpec.parseList(bad, flag: "decoder") }
            XCTAssertTrue(message.hasPrefix("--decoder \"\(bad)\""), message)
            XCTAssertTrue(message.contains(says), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
        XCTAssertTrue(error { try conv("bconvT:4k4s2", "dense:8").validate() }.contains("transposed convolutions belong in --decoder"))

        let one = VAEModel(config: try conv("conv:4k4s2,dense:16", "dense:16,convT:6k4s2,bconvT:4k4s2"), seed: 0)
        let names = Set(one.layout.map(\.name))
        XCTAssertTrue(names.isSuperset(of: ["decoder.2.weight", "decoder.3.weight.mu", "decoder.3.weight.rho",
                                            "decoder.3.bias.mu", "decoder.3.bias.rho"]), "\(names.sorted())")
        XCTAssertNotNil(one.weightKL)
        var all = try conv("conv:4k4s2,dense:16", "dense:16,convT:6k4s2,convT:4k4s2")
        all.bayesian = BayesianWeights(allLayers: true)
        let every = VAEModel(config: all, seed: 0)
        let shapes = Dictionary(uniqueKeysWithValues: every.layout.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["decoder.2.weight.mu"], [6, 4, 4, 4]); XCTAssertEqual(shapes["decoder.2.weight.rho"], [6, 4, 4, 4])
        XCTAssertEqual(shapes["decoder.3.weight.mu"], [4, 1, 4, 4]); XCTAssertEqual(shapes["decoder.3.bias.rho"], [1])
        XCTAssertFalse(every.layout.contains { !$0.name.hasSuffix(".mu") && !$0.name.hasSuffix(".rho") },
                       "\(every.layout.map(\.name))")
    }

    func testShapesThatDoNotFitAreRefusedWithTheShapes() throws {
        let tooDeep = try conv("conv:4k4s2,conv:4k4s2,conv:4k4s2,conv:4k4s2,conv:4k4s2", "dense:8")
        let m1 = error { try tooDeep.validate() }
        XCTAssertTrue(m1.contains("--encoder conv:4k4s2 (encoder.4): a 4x4 kernel does not fit the 4x1x1 input (padding 1)"), m1)

        let noSide = try conv("dense:8", "dense:8,convT:4k4s2o0", shape: [1, 27, 27])
        let m2 = error { try noSide.validate() }
        XCTAssertTrue(m2.contains("--decoder convT:4k4s2o0: no input side gives 1x27x27"), m2)

        var flat = try conv("conv:4k4s2", "dense:8")
        flat.inputShape = nil
        let m3 = error { try flat.validate() }
        XCTAssertTrue(m3.contains("needs an image input"), m3)

        let afterT = try conv("dense:8", "convT:4k4s2,dense:8")
        XCTAssertTrue(error { try afterT.validate() }.contains("after a convT entry only convT entries can follow"))
        let convTInEncoder = try conv("convT:4k4s2", "dense:8")
        XCTAssertTrue(error { try convTInEncoder.validate() }.contains("transposed convolutions belong in --decoder"))
    }

    func testTensorsAreNamedByStructureInPyTorchsShapes() throws {
        let model = VAEModel(config: try conv("conv:32k4s2,conv:64k4s2,dense:256", "dense:256,convT:64k4s2,convT:32k4s2",
                                              latent: 32), seed: 0)
        let shapes = Dictionary(uniqueKeysWithValues: model.layout.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["encoder.0.weight"], [32, 1, 4, 4])
        XCTAssertEqual(shapes["encoder.1.weight"], [64, 32, 4, 4])
        XCTAssertEqual(shapes["encoder.2.weight"], [256, 64 * 7 * 7])
        XCTAssertEqual(shapes["encoder.mu.weight"], [32, 256])
        XCTAssertEqual(shapes["decoder.1.weight"], [64 * 7 * 7, 256])
        // Transposed convolutions: [in, out, kh, kw], as nn.ConvTranspose2d.
        XCTAssertEqual(shapes["decoder.2.weight"], [64, 32, 4, 4])
        XCTAssertEqual(shapes["decoder.3.weight"], [32, 1, 4, 4])
        XCTAssertEqual(shapes["decoder.3.bias"], [1])
    }

    /// A config without the architecture fields (every checkpoint before them) is today's MLP,
    /// with the tensors in the order and under the names they always had.
    func testConfigsWithoutTheNewFieldsAreTheMLP() throws {
        let json = #"{"inputDim":784,"encoderHidden":[512,256],"latent":32,"activation":"relu","likelihood":"bernoulli","beta":1,"binarize":false,"decoderHidden":[256,512]}"#
        let config = try ModelConfig.decode(json: Data(json.utf8), source: "old")
        XCTAssertEqual(config, .benchmark)
        let names = VAEModel(config: config, seed: 0).layout.map(\.name)
        XCTAssertEqual(names, ["encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias",
                               "encoder.mu.weight", "encoder.logvar.weight", "encoder.mu.bias", "encoder.logvar.bias",
                               "decoder.0.weight", "decoder.0.bias", "decoder.1.weight", "decoder.1.bias",
                               "decoder.2.weight", "decoder.2.bias"])
        // And it is written back without them.
        let written = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        XCTAssertFalse(written.contains("encoder\":"), written)
        XCTAssertFalse(written.contains("inputShape"), written)
    }

    /// The whole step of a convolutional VAE (pooling, a multi-channel flatten, transposed
    /// convolutions with output padding, the Gaussian latent and a learned-variance likelihood)
    /// against central differences of its own loss, on a sample of every tensor's values.
    func testConvolutionalVAEGradientAgainstFiniteDifferences() throws {
        let config = try conv("conv:3k3s1,pool:k2s2,conv:4k3s2,dense:6", "dense:5,convT:4k3s2,convT:3k3s2",
                              latent: 2, shape: [2, 9, 9], activation: .tanh, likelihood: .gaussianLearned)
        try config.validate()
        let model = VAEModel(config: config, seed: 4)
        let rows = 3, D = config.inputDim
        let ws = TrainingWorkspace(model: model, maxBatch: rows)
        for i in 0..<(rows * D) { ws.input[i] = Float((i * 37) % 17) / 16 - 0.3 }
        ws.prepareNoise(batch: rows, seed: 5, epoch: 1, sampleIndices: [2, 7, 11])
        let klWeight: Float = 0.7, gradScale: Float = 1 / 3
        func loss() -> Double {
            let s = ws.forwardBackward(batch: rows, klWeight: klWeight, gradScale: gradScale)
            return Double(gradScale) * (s.recon + Double(klWeight) * s.regularizer)
        }
        _ = loss()
        let analytic = Array(model.gradients)
        let h: Float = 1e-2
        var worst = 0.0, worstAt = ""
        for spec in model.layout {
            for k in stride(from: 0, to: spec.count, by: max(1, spec.count / 12)) {
                let i = spec.offset + k
                let saved = model.parameters[i]
                model.parameters[i] = saved + h
                let plus = loss()
                model.parameters[i] = saved - h
                let minus = loss()
                model.parameters[i] = saved
                let numeric = (plus - minus) / (2 * Double(h))
                let err = abs(numeric - Double(analytic[i])) / (0.02 + abs(numeric))
                if err > worst { worst = err; worstAt = "\(spec.name)[\(k)] numeric \(numeric) analytic \(analytic[i])" }
            }
        }
        XCTAssertLessThan(worst, 2e-2, "worst \(worstAt)")
    }

    /// Saliency through the convolutions: d mu_j / d x against finite differences of the encoder
    /// (no pooling here: moving an input by the step could change which value a window keeps).
    func testSaliencyThroughConvolutions() throws {
        let config = try conv("conv:3k3s2,dense:5", "dense:5,convT:3k3s2", latent: 2, shape: [1, 7, 7],
                              activation: .tanh)
        try config.validate()
        let model = VAEModel(config: config, seed: 9)
        let D = config.inputDim
        var x = (0..<D).map { Float(($0 * 29) % 13) / 13 }
        let evaluator = Evaluator(model: model)
        var grad = [Float](repeating: 0, count: D)
        evaluator.posteriorMeanGradient(batch: 1, input: x, dimension: 1, into: &grad)
        func mean() -> Double {
            var mu = [Float](repeating: 0, count: 2), lv = [Float](repeating: 0, count: 2)
            evaluator.encode(batch: 1, input: x, mu: &mu, logvar: &lv)
            return Double(mu[1])
        }
        var worst = 0.0
        for i in 0..<D {
            let saved = x[i]
            x[i] = saved + 1e-2; let plus = mean()
            x[i] = saved - 1e-2; let minus = mean()
            x[i] = saved
            let numeric = (plus - minus) / 2e-2
            worst = max(worst, abs(numeric - Double(grad[i])) / (0.02 + abs(numeric)))
        }
        XCTAssertLessThan(worst, 2e-2)
    }
}
