import Datasets
import SystemMemory
@testable import Training
import VAE
import XCTest

/// The estimate counts what training holds, and a limit below it is one line with the figures.
final class MemoryEstimateTests: XCTestCase {
    func testTrainingCountsEverythingTheRunHolds() throws {
        let model = ModelConfig.benchmark
        let data = SyntheticData.make(count: 600, factors: 3, seed: 1)
        let estimate = MemoryEstimate.training(TrainConfig(), model: model, rowsPerRank: 128, trainSet: data, testSet: data, resume: false)
        let parts = Dictionary(uniqueKeysWithValues: estimate.parts.map { ($0.what, $0.bytes) })
        let p = VAEModel(config: model, seed: 0).parameterCount
        XCTAssertEqual(model.parameterCount, p)
        XCTAssertEqual(parts["parameters"], 4 * p)
        XCTAssertEqual(parts["Adam's moments"], 8 * p)
        XCTAssertEqual(parts["writing checkpoints"], 12 * p)
        XCTAssertNotNil(parts["training activations"])
        XCTAssertNotNil(parts["evaluation buffers"])
        XCTAssertNotNil(parts["explanation export"])
        XCTAssertEqual(estimate.held, 2 * 600 * 784 * 4)
        XCTAssertNoThrow(try estimate.check(limit: MemoryLimit(bytes: 1 << 40, source: "test")))
        XCTAssertThrowsError(try estimate.check(limit: MemoryLimit(bytes: 1 << 20, source: "a test limit"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("train needs about"), text)
            XCTAssertTrue(text.contains("parameters 4.2 MiB") && text.contains("1 MiB (a test limit)"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testTheLimitReadsThisProcess() {
        let limit = MemoryLimit.current()
        XCTAssertGreaterThan(limit.bytes, 0)
        XCTAssertLessThanOrEqual(limit.bytes, Int(ProcessInfo.processInfo.physicalMemory), limit.description)
    }
}
