import Foundation
import XCTest
@testable import Training
import VAE

final class TrainConfigTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testAConfigFileOverridesOnlyTheKeysItNames() throws {
        let config = try TrainConfig.load(path: try write(#"{"epochs": 3, "hidden": [64, 32], "lr": 0.002}"#))
        XCTAssertEqual(config.epochs, 3)
        XCTAssertEqual(config.hidden, [64, 32])
        XCTAssertEqual(config.lr, 0.002)
        XCTAssertEqual(config.batchSize, TrainConfig().batchSize)
        XCTAssertEqual(config.data, "fashion-mnist")
    }

    func testTheSavedConfigReadsBackIdentically() throws {
        var config = TrainConfig()
        config.decoderHidden = [7]
        config.seed = 42
        config.explainSamples = [5]
        XCTAssertEqual(try TrainConfig.load(path: try write(config.canonicalJSON())), config)
    }

    func testUnknownKeysWrongTypesAndBadJSONAreNamed() throws {
        let unknown = try write(#"{"epoch": 3}"#)
        XCTAssertThrowsError(try TrainConfig.load(path: unknown)) { error in
            XCTAssertTrue("\(error)".contains("unknown key \"epoch\""), "\(error)")
            XCTAssertTrue("\(error)".contains(unknown), "\(error)")
        }
        XCTAssertThrowsError(try TrainConfig.load(path: try write(#"{"epochs": "ten"}"#))) { error in
            XCTAssertTrue("\(error)".contains("epochs"), "\(error)")
        }
        XCTAssertThrowsError(try TrainConfig.load(path: try write("[1, 2]"))) { error in
            XCTAssertTrue("\(error)".contains("expected a JSON object"), "\(error)")
        }
        XCTAssertThrowsError(try TrainConfig.load(path: try write("{"))) { error in
            XCTAssertTrue("\(error)".contains("not valid JSON"), "\(error)")
        }
        XCTAssertThrowsError(try TrainConfig.load(path: "/nonexistent/c.json"))
    }

    func testDataWiderThanAModelLayerNamesTheData() {
        var config = TrainConfig()
        config.data = "wide.npy"
        XCTAssertThrowsError(try config.modelConfig(inputDim: ModelConfig.maximumWidth + 1)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--data wide.npy: samples of 16777217 values"), "\(error)")
        }
        XCTAssertNoThrow(try config.modelConfig(inputDim: 784))
    }

    /// Numbers that do not fit their setting's type used to read as "not valid JSON"; the error
    /// now names the key, what it takes and what the file holds.
    func testValuesThatDoNotFitTheirTypeNameTheKey() throws {
        let cases = [(#"{"epochs": 1e300}"#, #"key "epochs" expects a whole number"#),
                     (#"{"epochs": 2.5}"#, #"key "epochs" expects a whole number"#),
                     (#"{"lr": 1e-50}"#, #"key "lr" expects a number within 32-bit float range"#),
                     (#"{"seed": -1}"#, #"key "seed" expects a whole number from 0"#),
                     (#"{"hidden": [64, "a"]}"#, #"key "hidden" expects a list of whole numbers"#),
                     (#"{"binarize": 3, "epochs": 2}"#, #"key "binarize" expects true or false, found 3"#)]
        for (json, expected) in cases {
            XCTAssertThrowsError(try TrainConfig.load(path: try write(json)), json) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(json): \(error)")
                XCTAssertFalse("\(error)".contains("\n"), "\(json): \(error)")
            }
        }
    }

    func testValidationNamesTheFlag() {
        var config = TrainConfig()
        config.batchSize = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".hasPrefix("--batch-size"), "\($0)") }
        config = TrainConfig()
        config.likelihood = "poisson"
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("poisson"), "\($0)") }
        config = TrainConfig()
        config.clipNorm = .nan
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".hasPrefix("--clip-norm"), "\($0)") }
        XCTAssertNoThrow(try TrainConfig().validate())
    }

    func testModelConfigFollowsTheSettings() throws {
        var config = TrainConfig()
        config.likelihood = "gaussian"
        config.gaussianVariance = 0.25
        config.activation = "leaky-relu"
        let model = try config.modelConfig(inputDim: 784)
        XCTAssertEqual(model.likelihood, .gaussianFixed(variance: 0.25))
        XCTAssertEqual(model.activation, .leakyRelu)
        XCTAssertEqual(model.decoderHidden, [256, 512])
        XCTAssertEqual(model.encoderHidden, [512, 256])
    }

    func testKLWarmUpRisesLinearlyToBeta() {
        var config = TrainConfig()
        config.beta = 2
        XCTAssertEqual(config.klWeight(epoch: 0, step: 0, stepsPerEpoch: 10), 2)
        config.warmupEpochs = 2
        XCTAssertEqual(config.klWeight(epoch: 0, step: 0, stepsPerEpoch: 10), 0)
        XCTAssertEqual(config.klWeight(epoch: 0, step: 5, stepsPerEpoch: 10), 0.5, accuracy: 1e-6)
        XCTAssertEqual(config.klWeight(epoch: 1, step: 0, stepsPerEpoch: 10), 1, accuracy: 1e-6)
        XCTAssertEqual(config.klWeight(epoch: 3, step: 0, stepsPerEpoch: 10), 2)
    }

    func testPretrainBetaWeighsOnlyTheEpochsBeforeTheMixtureFit() throws {
        var config = TrainConfig()
        config.model = "gmvae"
        config.beta = 0.5
        config.clusterInitEpoch = 3
        config.pretrainBeta = 0.125
        XCTAssertEqual(config.klWeight(epoch: 0, step: 0, stepsPerEpoch: 10), 0.125)
        XCTAssertEqual(config.klWeight(epoch: 2, step: 9, stepsPerEpoch: 10), 0.125)
        XCTAssertEqual(config.klWeight(epoch: 3, step: 0, stepsPerEpoch: 10), 0.5)
        // The warm-up ramps towards whichever weight the phase has.
        config.warmupEpochs = 2
        XCTAssertEqual(config.klWeight(epoch: 1, step: 0, stepsPerEpoch: 10), 0.0625, accuracy: 1e-7)
        XCTAssertEqual(config.klWeight(epoch: 4, step: 0, stepsPerEpoch: 10), 0.5)
        XCTAssertNoThrow(try config.validate())
        // Unset, the VAE phase trains at beta, as before the setting existed.
        config.pretrainBeta = nil
        config.warmupEpochs = 0
        XCTAssertEqual(config.klWeight(epoch: 0, step: 0, stepsPerEpoch: 10), 0.5)

        config.pretrainBeta = -1
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".hasPrefix("--pretrain-beta"), "\($0)") }
        config.pretrainBeta = 0.25
        try assertOnlyForGMVAE(config, flag: "--pretrain-beta", key: "pretrainBeta", json: "0.25")
        let read = try TrainConfig.decode(Data(#"{"model": "gmvae", "pretrainBeta": 0.25}"#.utf8), source: "c.json")
        XCTAssertEqual(read.pretrainBeta, 0.25)
        XCTAssertNil(try TrainConfig.decode(Data("{}".utf8), source: "c.json").pretrainBeta)
    }

    /// A mixture-only setting on a VAE is refused, named by its flag (and by its key in a file).
    private func assertOnlyForGMVAE(_ config: TrainConfig, flag: String, key: String, json value: String,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        var config = config
        config.model = "vae"
        XCTAssertThrowsError(try config.validate(), file: file, line: line) {
            XCTAssertTrue("\($0)".hasPrefix(flag) && "\($0)".contains("gmvae"), "\($0)", file: file, line: line)
        }
        let text = "{\"\(key)\": \(value)}"
        XCTAssertThrowsError(try TrainConfig.decode(Data(text.utf8), source: "c.json").validate(source: "c.json"), file: file, line: line) {
            XCTAssertTrue("\($0)".hasPrefix("c.json: key \"\(key)\""), "\($0)", file: file, line: line)
        }
    }

    func testPriorCovarianceReachesTheModelConfigOfAMixtureOnly() throws {
        var config = TrainConfig()
        config.model = "gmvae"
        XCTAssertNil(try config.modelConfig(inputDim: 784).priorCovariance, "the diagonal mixture's config is unchanged")
        config.priorCovariance = "full"
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(try config.modelConfig(inputDim: 784).priorCovariance, "full")
        try assertOnlyForGMVAE(config, flag: "--prior-covariance", key: "priorCovariance", json: "\"full\"")
        config.priorCovariance = "banded"
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".hasPrefix("--prior-covariance"), "\($0)") }
    }

    func testMixtureLRSetsOnlyTheEpochsFromTheMixtureFit() throws {
        var config = TrainConfig()
        config.model = "gmvae"
        config.lr = 1e-3
        config.clusterInitEpoch = 3
        // Unset, every epoch trains at --lr, as before the setting existed.
        XCTAssertEqual(config.learningRate(epoch: 5), 1e-3)
        config.mixtureLR = 2.5e-4
        XCTAssertEqual(config.learningRate(epoch: 0), 1e-3)
        XCTAssertEqual(config.learningRate(epoch: 2), 1e-3)
        XCTAssertEqual(config.learningRate(epoch: 3), 2.5e-4)
        XCTAssertEqual(config.learningRate(epoch: 40), 2.5e-4)
        XCTAssertNoThrow(try config.validate())

        config.mixtureLR = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".hasPrefix("--mixture-lr"), "\($0)") }
        config.mixtureLR = 2.5e-4
        config.model = "vae"
        XCTAssertEqual(config.learningRate(epoch: 5), 1e-3)
        try assertOnlyForGMVAE(config, flag: "--mixture-lr", key: "mixtureLR", json: "0.001")
        let read = try TrainConfig.decode(Data(#"{"model": "gmvae", "mixtureLR": 0.0005}"#.utf8), source: "c.json")
        XCTAssertEqual(read.mixtureLR, 0.0005)
        XCTAssertNil(try TrainConfig.decode(Data("{}".utf8), source: "c.json").mixtureLR)
    }

    func testPositionsCountSamplesWithAShortLastBatch() {
        XCTAssertEqual(TrainingPosition(epoch: 0, stepInEpoch: 3).samplePosition(datasetCount: 1000, batch: 60), 180)
        // Step 17 of 17 is past the short last batch: a whole epoch, not 17 x 60.
        XCTAssertEqual(TrainingPosition(epoch: 1, stepInEpoch: 17).samplePosition(datasetCount: 1000, batch: 60), 2000)
    }

    func testDisagreementNamesTheFirstDifferingLine() {
        let ours = "{\n  \"lr\" : 0.001,\n  \"seed\" : 0\n}"
        let theirs = "{\n  \"lr\" : 0.001,\n  \"seed\" : 1\n}"
        XCTAssertEqual(StartupAgreement.firstDifference(ours, theirs, rank: 2), "rank 0 has \"seed\" : 0, rank 2 has \"seed\" : 1")
    }
}
