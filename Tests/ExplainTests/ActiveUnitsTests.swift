import Datasets
import Foundation
import VAE
import XCTest
@testable import Explain

/// A VAE trained on images generated from k known factors keeps exactly k active units, and
/// together they carry every factor.
///
/// The images here are built in the test from k independent factors, each scaling a smooth
/// bump in its own quarter of the image: the data lie on a flat k-dimensional sheet, so the
/// ELBO optimum needs exactly k dimensions. (On `SyntheticData`, whose first factors are
/// positions, a VAE embeds each translation as a curve through two latent dimensions and
/// reports k + 1 active units; see the report to the lead.)
final class ActiveUnitsTests: XCTestCase {
    static let centres: [(x: Float, y: Float)] = [(7, 7), (20, 20), (7, 20), (20, 7)]

    /// `count` 28x28 images and their factor values (count x k) in [-1, 1).
    static func factorImages(count: Int, k: Int, seed: UInt64, firstIndex: Int) throws -> (Dataset, [Float]) {
        var bytes = [UInt8](repeating: 0, count: count * 784)
        var factors = [Float](repeating: 0, count: count * k)
        for i in 0..<count {
            var state = (seed &+ UInt64(firstIndex + i)) &* 0x9E37_79B9_7F4A_7C15
            for j in 0..<k {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                factors[i * k + j] = 2 * Float(state >> 40) / Float(1 << 24) - 1
            }
            for y in 0..<28 {
                for x in 0..<28 {
                    var v: Float = 0.5
                    for j in 0..<k {
                        let dx = Float(x) - centres[j].x, dy = Float(y) - centres[j].y
                        v += 0.45 * factors[i * k + j] * expf(-(dx * dx + dy * dy) / 32)
                    }
                    bytes[i * 784 + y * 28 + x] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        return (try Dataset(name: "factors:k=\(k)", sampleShape: [28, 28], bytes: bytes), factors)
    }

    /// Plain single-process training: Adam on the mean -ELBO over shuffled mini-batches.
    static func train(_ model: VAEModel, on data: Dataset, epochs: Int, batch: Int, lr: Float, seed: UInt64) {
        let workspace = TrainingWorkspace(model: model, maxBatch: batch)
        let adam = Adam(count: model.parameterCount, lr: lr)
        let sampler = ShardedSampler(datasetCount: data.count, globalBatch: batch, worldSize: 1, rank: 0, seed: seed)
        for epoch in 0..<epochs {
            let permutation = sampler.permutation(epoch: epoch)
            for step in 0..<sampler.stepsPerEpoch {
                let (indices, globalBatch) = sampler.shard(step: step, permutation: permutation)
                guard let input = workspace.input.baseAddress else { return }
                data.copySamples(indices, into: input)
                workspace.prepareNoise(batch: indices.count, seed: seed, epoch: epoch, sampleIndices: indices)
                _ = workspace.forwardBackward(batch: indices.count, klWeight: 1, gradScale: 1 / Float(globalBatch))
                adam.update(parameters: model.parameters, gradients: model.gradients)
            }
        }
    }

    func check(k: Int, seed: UInt64) throws {
        let (train, _) = try Self.factorImages(count: 2000, k: k, seed: seed, firstIndex: 0)
        let (eval, factors) = try Self.factorImages(count: 1000, k: k, seed: seed, firstIndex: 1_000_000)
        let model = VAEModel(config: ModelConfig(inputDim: 784, encoderHidden: [64], latent: 8), seed: seed)
        Self.train(model, on: train, epochs: 40, batch: 32, lr: 2e-3, seed: seed)

        let dir = try temporaryDirectory(self)
        var options = ExplainOptions(outDir: dir)
        options.iwaeK = 0
        options.writeReport = false
        let summary = try ExplainExport.run(model: model, dataset: eval, trainSet: nil, options: options,
                                            communicator: nil, checkpointInfo: [:], log: { _ in })
        let variances = summary.dimensions.map(\.posteriorMeanVariance)
        XCTAssertEqual(summary.activeUnits, k, "k = \(k): variances of the posterior means \(variances)")
        // Clearly separated, not just across the threshold.
        for v in variances { XCTAssertTrue(v > 0.3 || v < 0.005, "k = \(k): variance \(v) is neither active nor collapsed") }

        // Each factor is (almost) a linear function of the active units: the latent space holds
        // the factors, up to the rotation the isotropic prior leaves free.
        let mu = try npyFloats(dir + "/mu.npy").values
        let active = summary.activeDimensions
        let design = (0..<1000).map { i in [1.0] + active.map { Double(mu[i * 8 + $0]) } }
        for j in 0..<k {
            let target = (0..<1000).map { Double(factors[$0 * k + j]) }
            let r2 = Self.rSquared(design, target)
            XCTAssertGreaterThan(r2, 0.98, "k = \(k): factor \(j) explained with R^2 \(r2) by the active units")
        }
    }

    /// R^2 of the least-squares fit of `y` on the rows of `x` (normal equations, Gaussian elimination).
    static func rSquared(_ x: [[Double]], _ y: [Double]) -> Double {
        let p = x[0].count
        var a = [[Double]](repeating: [Double](repeating: 0, count: p + 1), count: p)
        for (row, t) in zip(x, y) {
            for r in 0..<p {
                for c in 0..<p { a[r][c] += row[r] * row[c] }
                a[r][p] += row[r] * t
            }
        }
        for col in 0..<p {
            let pivot = (col..<p).max { abs(a[$0][col]) < abs(a[$1][col]) } ?? col
            a.swapAt(col, pivot)
            guard abs(a[col][col]) > 1e-12 else { return 0 }
            for r in 0..<p where r != col {
                let f = a[r][col] / a[col][col]
                for c in col...p { a[r][c] -= f * a[col][c] }
            }
        }
        let beta = (0..<p).map { a[$0][p] / a[$0][$0] }
        let mean = y.reduce(0, +) / Double(y.count)
        var ssRes = 0.0, ssTot = 0.0
        for (row, t) in zip(x, y) {
            let fit = zip(row, beta).reduce(0) { $0 + $1.0 * $1.1 }
            ssRes += (t - fit) * (t - fit)
            ssTot += (t - mean) * (t - mean)
        }
        return ssTot > 0 ? 1 - ssRes / ssTot : 0
    }

    func testTwoFactorsGiveTwoActiveUnits() throws { try check(k: 2, seed: 1) }
    func testThreeFactorsGiveThreeActiveUnits() throws { try check(k: 3, seed: 2) }
}
