import VAE
import XCTest

/// The backward pass's reports of finished gradients, which the data-parallel step uses to send
/// gradients while backward goes on: a report must never come before the gradients it covers
/// are final, or a bucket would carry stale values.
final class GradientsReadyTests: XCTestCase {
    func testEveryReportedRegionIsAlreadyFinal() throws {
        for config in [ModelConfig(inputDim: 7, encoderHidden: [6, 5], latent: 2),
                       ModelConfig(inputDim: 5, encoderHidden: [4], latent: 3, likelihood: .gaussianLearned)] {
            let model = VAEModel(config: config, seed: 4)
            let ws = TrainingWorkspace(model: model, maxBatch: 3)
            for i in 0..<(3 * config.inputDim) { ws.input[i] = Float((i * 5) % 7) / 7 }
            ws.prepareNoise(batch: 3, seed: 1, epoch: 0, sampleIndices: [Int32(0), 1, 2])
            let n = model.parameterCount
            var snapshots: [(offset: Int, values: [Float])] = []
            ws.gradientsReady = { offset in
                snapshots.append((offset, Array(model.gradients[offset..<n])))
            }
            // NaN where a gradient has not been written yet, so an early report shows.
            for i in 0..<n { model.gradients[i] = .nan }
            _ = ws.forwardBackward(batch: 3, klWeight: 1, gradScale: 1)
            let final = Array(model.gradients)
            XCTAssertFalse(snapshots.isEmpty)
            XCTAssertEqual(snapshots.last?.offset, 0, "the last report covers the whole arena")
            for (a, b) in zip(snapshots, snapshots.dropFirst()) { XCTAssertGreaterThan(a.offset, b.offset) }
            for s in snapshots {
                let expected = Array(final[s.offset..<n])
                XCTAssertEqual(s.values.map(\.bitPattern), expected.map(\.bitPattern), "region from \(s.offset) changed after it was reported")
            }
            XCTAssertFalse(final.contains { $0.isNaN })
        }
    }
}
