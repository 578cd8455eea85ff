import XCTest
@testable import VAE

final class NoiseGeneratorTests: XCTestCase {
    private func gaussian(seed: UInt64 = 1, epoch: Int = 0, index: Int, stream: Int = 0, count: Int = 9) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        NoiseGenerator.fillGaussian(seed: seed, epoch: epoch, sampleIndex: index, stream: stream, into: &out, count: count)
        return out
    }

    func testValuesArePureFunctionsOfTheKey() {
        XCTAssertEqual(gaussian(index: 17), gaussian(index: 17))
        XCTAssertNotEqual(gaussian(index: 17), gaussian(index: 18))
        XCTAssertNotEqual(gaussian(epoch: 0, index: 17), gaussian(epoch: 1, index: 17))
        XCTAssertNotEqual(gaussian(seed: 1, index: 17), gaussian(seed: 2, index: 17))
        XCTAssertNotEqual(gaussian(index: 17, stream: 0), gaussian(index: 17, stream: 1))
        // A prefix does not depend on how many values are asked for.
        XCTAssertEqual(Array(gaussian(index: 5, count: 11).prefix(5)), gaussian(index: 5, count: 5))
    }

    /// A sample's eps is the same whichever row (batch position, rank shard) it lands in.
    func testWorkspaceNoiseDependsOnSampleNotRow() {
        let model = VAEModel(config: ModelConfig(inputDim: 4, encoderHidden: [3], latent: 5), seed: 0)
        let a = TrainingWorkspace(model: model, maxBatch: 4), b = TrainingWorkspace(model: model, maxBatch: 4)
        a.prepareNoise(batch: 3, seed: 9, epoch: 2, sampleIndices: [Int32(100), 7, 55])
        b.prepareNoise(batch: 2, seed: 9, epoch: 2, sampleIndices: [Int32(55), 100])
        XCTAssertEqual(Array(a.eps[0..<5]), Array(b.eps[5..<10]))   // sample 100
        XCTAssertEqual(Array(a.eps[10..<15]), Array(b.eps[0..<5]))  // sample 55
    }

    func testGaussianMomentsAndUniformRange() {
        var sum = 0.0, sumSq = 0.0, n = 0
        var u = [Float](repeating: 0, count: 64)
        var below = 0
        for index in 0..<4000 {
            for v in gaussian(index: index, count: 32) { sum += Double(v); sumSq += Double(v * v); n += 1 }
            NoiseGenerator.fillUniform(seed: 3, epoch: 0, sampleIndex: index, stream: 1, into: &u, count: 64)
            XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
            below += u.filter { $0 < 0.25 }.count
        }
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
        XCTAssertEqual(Double(below) / Double(4000 * 64), 0.25, accuracy: 0.005)
    }

    func testBinarizationFollowsPixelProbability() {
        var ones = 0
        var x = [Float](repeating: 0, count: 100)
        for index in 0..<200 {
            for i in 0..<100 { x[i] = 0.3 }
            NoiseGenerator.binarize(seed: 4, epoch: 1, sampleIndex: index, &x, count: 100)
            XCTAssertTrue(x.allSatisfy { $0 == 0 || $0 == 1 })
            ones += x.filter { $0 == 1 }.count
        }
        XCTAssertEqual(Double(ones) / 20000, 0.3, accuracy: 0.015)
        // Deterministic, and pixels at 0 or 1 stay put.
        var a: [Float] = [0, 1, 0.5, 0.5], b: [Float] = [0, 1, 0.5, 0.5]
        NoiseGenerator.binarize(seed: 4, epoch: 1, sampleIndex: 3, &a, count: 4)
        NoiseGenerator.binarize(seed: 4, epoch: 1, sampleIndex: 3, &b, count: 4)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a[0], 0)
        XCTAssertEqual(a[1], 1)
    }
}
