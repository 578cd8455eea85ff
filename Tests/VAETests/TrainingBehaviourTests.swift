import Foundation
import XCTest
@testable import VAE

/// A tiny inline dataset: 4x4 images made of one horizontal and one vertical bar, blurred to
/// grey levels so targets are in [0, 1]. Two discrete factors, 16 distinct images.
private func barsDataset(count: Int) -> [Float] {
    var data = [Float](repeating: 0, count: count * 16)
    for n in 0..<count {
        let r = (n * 7) % 4, c = (n * 3 + n / 4) % 4
        for i in 0..<4 {
            for j in 0..<4 {
                let v: Float = (i == r ? 0.8 : 0.05) + (j == c ? 0.15 : 0)
                data[n * 16 + i * 4 + j] = min(v, 1)
            }
        }
    }
    return data
}

private func train(seed: UInt64, steps: Int, data: [Float], count: Int, config: ModelConfig) -> VAEModel {
    let model = VAEModel(config: config, seed: seed)
    let batch = 16
    let ws = TrainingWorkspace(model: model, maxBatch: batch)
    let adam = Adam(count: model.parameterCount, lr: 1e-2)
    for step in 0..<steps {
        let first = (step * batch) % count
        let indices = (0..<batch).map { (first + $0) % count }
        for (row, index) in indices.enumerated() {
            for k in 0..<16 { ws.input[row * 16 + k] = data[index * 16 + k] }
        }
        ws.prepareNoise(batch: batch, seed: seed, epoch: step / (count / batch), sampleIndices: indices)
        _ = ws.forwardBackward(batch: batch, klWeight: 1, gradScale: 1 / Float(batch))
        clipGlobalNorm(model.gradients, maxNorm: 100)
        adam.update(parameters: model.parameters, gradients: model.gradients)
    }
    return model
}

private func meanNegativeELBO(_ model: VAEModel, data: [Float], count: Int, iwaeK: Int = 0) -> (elbo: Double, iwae: Double) {
    let ev = Evaluator(model: model)
    let results = ev.evaluate(batch: count, input: data, noiseSeed: 99, firstSampleIndex: 0, iwaeK: iwaeK)
    let elbo = results.map(\.negativeELBO).reduce(0, +) / Double(count)
    let iwae = results.compactMap(\.iwaeNLL).reduce(0, +) / Double(count)
    return (elbo, iwae)
}

final class TrainingBehaviourTests: XCTestCase {
    let config = ModelConfig(inputDim: 16, encoderHidden: [24], latent: 2, activation: .relu)

    func testShortTrainingRunImprovesTheELBO() {
        let count = 64
        let data = barsDataset(count: count)
        let before = meanNegativeELBO(VAEModel(config: config, seed: 3), data: data, count: count).elbo
        let trained = train(seed: 3, steps: 300, data: data, count: count, config: config)
        let after = meanNegativeELBO(trained, data: data, count: count, iwaeK: 64)
        // Untrained, every pixel costs ~log 2; trained, the bars are reconstructed.
        XCTAssertGreaterThan(before, 9)
        XCTAssertLessThan(after.elbo, 0.75 * before, "before \(before), after \(after.elbo)")
        // The importance-weighted bound is at least as tight as the ELBO on average.
        XCTAssertLessThanOrEqual(after.iwae, after.elbo + 1e-3)
        XCTAssertGreaterThan(after.iwae, 0)
    }

    func testSameSeedGivesBitIdenticalParameters() {
        let count = 64
        let data = barsDataset(count: count)
        let a = train(seed: 21, steps: 40, data: data, count: count, config: config)
        let b = train(seed: 21, steps: 40, data: data, count: count, config: config)
        let c = train(seed: 22, steps: 40, data: data, count: count, config: config)
        XCTAssertEqual(memcmp(a.parameters.baseAddress!, b.parameters.baseAddress!, a.parameterCount * 4), 0)
        XCTAssertNotEqual(memcmp(a.parameters.baseAddress!, c.parameters.baseAddress!, a.parameterCount * 4), 0)
    }

    /// The step path creates no Swift heap object (no Array, no class, no closure context):
    /// every `swift_allocObject` is counted through the runtime's hook while steps run.
    func testForwardBackwardAndAdamAllocateNothing() throws {
        // The VAE, and the mixture models with either components (the full one with its
        // correlations held, as before the fit, and trained).
        var diagonalMixture = ModelConfig.benchmark
        diagonalMixture.variant = ModelConfig.mixtureVariant
        diagonalMixture.clusters = 10
        var fullMixture = diagonalMixture
        fullMixture.priorCovariance = "full"
        for (config, hold) in [(ModelConfig.benchmark, false), (diagonalMixture, false), (fullMixture, true), (fullMixture, false)] {
            try assertStepsAllocateNothing(config, holdingCorrelations: hold)
        }
    }

    private func assertStepsAllocateNothing(_ config: ModelConfig, holdingCorrelations: Bool) throws {
        let model = VAEModel(config: config, seed: 0)
        let ws = TrainingWorkspace(model: model, maxBatch: 32)
        ws.holdsLatentHead = holdingCorrelations
        let adam = Adam(count: model.parameterCount, lr: 1e-3)
        for i in 0..<(32 * 784) { ws.input[i] = Float(i % 256) / 255 }
        let indices: [Int32] = Array(0..<32)
        func step(_ k: Int) {
            ws.prepareNoise(batch: 32, seed: 1, epoch: k, sampleIndices: indices)
            _ = ws.forwardBackward(batch: 32, klWeight: 1, gradScale: 1 / 32)
            adam.update(parameters: model.parameters, gradients: model.gradients)
            clipGlobalNorm(model.gradients, maxNorm: 5)
        }
        step(0)
        let counter = try AllocationCounter()
        let probe = counter.count { _ = [Int](repeating: 1, count: Int.random(in: 3...9)) }
        XCTAssertGreaterThan(probe, 0, "the allocation hook is not active")
        let inStep = counter.count { for k in 1...5 { step(k) } }
        XCTAssertEqual(inStep, 0, "Swift heap allocations inside the training step of \(config.variant ?? "vae") \(config.priorCovariance ?? "")")
    }

    /// The benchmark's ceiling figure is only meaningful if the replay issues the step's products
    /// exactly: same count of calls and the same FLOP, for a full and a short batch.
    func testReplayIssuesExactlyTheStepsProducts() {
        let model = VAEModel(config: .benchmark, seed: 0)
        let ws = TrainingWorkspace(model: model, maxBatch: 16)
        for i in 0..<(16 * 784) { ws.input[i] = Float(i % 256) / 255 }
        for batch in [16, 5] {
            ws.prepareNoise(batch: batch, seed: 1, epoch: 0, sampleIndices: 0..<batch)
            Gemm.flopCounter = 0
            Gemm.countFlops = true
            _ = ws.forwardBackward(batch: batch, klWeight: 1, gradScale: 1)
            let step = Gemm.flopCounter
            Gemm.flopCounter = 0
            ws.replayProducts(batch: batch)
            let replay = Gemm.flopCounter
            Gemm.countFlops = false
            XCTAssertEqual(step, model.trainingGemmFlopsPerSample * batch)
            XCTAssertEqual(replay, step, "batch \(batch)")
        }
    }

    func testBinarizedTrainingStepUsesZerosAndOnes() {
        var c = config
        c.binarize = true
        let model = VAEModel(config: c, seed: 1)
        let ws = TrainingWorkspace(model: model, maxBatch: 4)
        for i in 0..<64 { ws.input[i] = 0.3 }
        ws.prepareNoise(batch: 4, seed: 1, epoch: 0, sampleIndices: [0, 1, 2, 3] as [Int32])
        XCTAssertTrue(ws.input.prefix(64).allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertTrue(ws.input.prefix(64).contains(1))
        let sums = ws.forwardBackward(batch: 4, klWeight: 1, gradScale: 0.25)
        XCTAssertTrue(sums.recon.isFinite && sums.recon > 0)
    }
}
