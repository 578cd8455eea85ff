import Foundation
import XCTest
@testable import VAE

final class ModelConfigTests: XCTestCase {
    func testCodableRoundTripAndDefaults() throws {
        let configs = [
            ModelConfig.benchmark,
            ModelConfig(inputDim: 10, encoderHidden: [8], latent: 2, decoderHidden: [6, 4], activation: .leakyRelu,
                        likelihood: .gaussianFixed(variance: 0.25), beta: 0.5, binarize: true),
            ModelConfig(inputDim: 10, encoderHidden: [], latent: 2, activation: .elu, likelihood: .gaussianLearned),
        ]
        for c in configs {
            let data = try JSONEncoder().encode(c)
            XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: data), c)
        }
        let short = #"{"inputDim": 784, "encoderHidden": [512, 256], "latent": 32}"#
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(short.utf8)), .benchmark)
        let text = String(decoding: try JSONEncoder().encode(ModelConfig.benchmark), as: UTF8.self)
        XCTAssertTrue(text.contains(#""activation":"relu""#), text)
        XCTAssertTrue(text.contains(#""likelihood":"bernoulli""#), text)
    }

    func testLikelihoodParsing() throws {
        XCTAssertEqual(try Likelihood(parsing: "Bernoulli"), .bernoulli)
        XCTAssertEqual(try Likelihood(parsing: "gaussian"), .gaussianFixed(variance: 1))
        XCTAssertEqual(try Likelihood(parsing: "gaussian:0.5"), .gaussianFixed(variance: 0.5))
        XCTAssertEqual(try Likelihood(parsing: "gaussian-learned"), .gaussianLearned)
        for bad in ["poisson", "gaussian:-1", "gaussian:abc", ""] {
            XCTAssertThrowsError(try Likelihood(parsing: bad)) { error in
                let text = "\(error)"
                XCTAssertFalse(text.contains("\n"))
                XCTAssertTrue(text.contains("likelihood"), text)
            }
        }
    }

    func testValidationRejectsImpossibleShapes() {
        XCTAssertThrowsError(try VAEModel(validating: ModelConfig(inputDim: 0, encoderHidden: [4], latent: 2), seed: 0))
        XCTAssertThrowsError(try ModelConfig(inputDim: 4, encoderHidden: [4, 0], latent: 2).validate()) { error in
            XCTAssertTrue("\(error)".contains("encoderHidden"), "\(error)")
        }
        XCTAssertThrowsError(try ModelConfig(inputDim: 4, encoderHidden: [4], latent: 0).validate())
        XCTAssertThrowsError(try ModelConfig(inputDim: 4, encoderHidden: [4], latent: 2, beta: -1).validate())
        XCTAssertNoThrow(try ModelConfig.benchmark.validate())
    }

    func testLayoutNamesOrderAndInitialization() {
        let model = VAEModel(config: .benchmark, seed: 0)
        XCTAssertEqual(model.parameterCount, 1_091_920)
        XCTAssertEqual(model.fullGemmFlopsPerSample, 6_537_216)
        XCTAssertEqual(model.trainingGemmFlopsPerSample, 6_537_216 - 2 * 784 * 512)
        XCTAssertEqual(model.layout.map(\.name), [
            "encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias",
            "encoder.mu.weight", "encoder.logvar.weight", "encoder.mu.bias", "encoder.logvar.bias",
            "decoder.0.weight", "decoder.0.bias", "decoder.1.weight", "decoder.1.bias",
            "decoder.2.weight", "decoder.2.bias",
        ])
        // No holes, no overlaps; heads adjacent so they form one GEMM.
        var offset = 0
        for s in model.layout { XCTAssertEqual(s.offset, offset, s.name); offset += s.count }
        XCTAssertEqual(offset, model.parameterCount)
        let muW = model.spec(named: "encoder.mu.weight")!, lvW = model.spec(named: "encoder.logvar.weight")!
        XCTAssertEqual(muW.shape, [32, 256])
        XCTAssertEqual(lvW.offset, muW.offset + muW.count)
        XCTAssertEqual(model.spec(named: "decoder.2.weight")!.shape, [784, 512])
        // PyTorch-style bounds and determinism.
        let w = model.parameter(named: "encoder.0.weight")!
        let bound = 1 / Float(784).squareRoot()
        XCTAssertTrue(w.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(w.map { abs($0) }.max()!, 0.95 * bound)
        XCTAssertTrue(model.parameter(named: "decoder.0.bias")!.allSatisfy { abs($0) <= 1 / Float(32).squareRoot() })
        let again = VAEModel(config: .benchmark, seed: 0), other = VAEModel(config: .benchmark, seed: 1)
        XCTAssertEqual(memcmp(model.parameters.baseAddress!, again.parameters.baseAddress!, model.parameterCount * 4), 0)
        XCTAssertNotEqual(memcmp(model.parameters.baseAddress!, other.parameters.baseAddress!, model.parameterCount * 4), 0)
        let learned = VAEModel(config: ModelConfig(inputDim: 5, encoderHidden: [3], latent: 2, likelihood: .gaussianLearned), seed: 0)
        XCTAssertEqual(learned.layout.last?.name, "likelihood.logvar")
        XCTAssertTrue(learned.parameter(named: "likelihood.logvar")!.allSatisfy { $0 == 0 })
    }

    func testDecodeErrorsAreOneLineNamingTheSource() throws {
        let ok = try ModelConfig.decode(json: Data(#"{"inputDim": 4, "encoderHidden": [3], "latent": 2, "activation": "tanh"}"#.utf8), source: "cfg.json")
        XCTAssertEqual(ok.activation, .tanh)
        XCTAssertEqual(ok.decoderHidden, [3])
        let cases = [
            (#"{"encoderHidden": [3], "latent": 2}"#, "inputDim"),
            (#"{"inputDim": "x", "encoderHidden": [3], "latent": 2}"#, "inputDim"),
            (#"{"inputDim": 4, "encoderHidden": [3], "latent": 2, "activation": "gelu"}"#, "activation"),
            (#"{"inputDim": 4, "encoderHidden": [3], "latent": 2, "likelihood": "poisson"}"#, "likelihood"),
            (#"{"inputDim": 4, "encoderHidden": [3], "latent": 0}"#, "latent"),
            (#"{"inputDim": 4, "#, "JSON"),
        ]
        for (text, needle) in cases {
            XCTAssertThrowsError(try ModelConfig.decode(json: Data(text.utf8), source: "cfg.json")) { error in
                let line = "\(error)"
                XCTAssertFalse(line.contains("\n"), line)
                XCTAssertTrue(line.hasPrefix("cfg.json: "), line)
                XCTAssertTrue(line.contains(needle), "\(line) should mention \(needle)")
            }
        }
    }
}
