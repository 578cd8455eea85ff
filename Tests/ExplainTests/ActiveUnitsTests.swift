import Datasets
import Foundation
import VAE
import XCTest
@testable import Explain

/// A VAE trained on the synthetic dataset, images generated from k known factors, keeps exactly
/// k active units, and together they carry every factor. (The dataset's factors each set the
/// brightness of a square in its own quadrant, so the images lie on a flat k-dimensional
/// sheet and the ELBO's optimum needs exactly k dimensions.) These use the soft squares
/// (`edges=soft`), all at full brightness: the default hard squares are smaller and dimmer (64
/// pixels at 0.4-1.0), and after these 40 short epochs one or two spare units were still at
/// posterior-mean variances of 0.010-0.020, on the threshold rather than clearly collapsed.
final class ActiveUnitsTests: XCTestCase {
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

    func check(k: Int, seed: UInt64, hard: Bool = false) throws {
        let train = SyntheticData.make(count: 2000, factors: k, seed: seed, hardEdges: hard)
        let eval = SyntheticData.make(count: 1000, factors: k, seed: seed, firstIndex: 1_000_000, hardEdges: hard)
        let factors = SyntheticData.factors(count: 1000, factors: k, seed: seed, firstIndex: 1_000_000)
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
        for v in variances { XCTAssertTrue(v > 0.1 || v < 0.01, "k = \(k): variance \(v) is neither clearly active nor collapsed") }

        // Each factor is close to a linear function of the active units: the latent space holds
        // the factors, up to the rotation the isotropic prior leaves free (and the mild bend of
        // mapping uniform factors onto a Gaussian prior).
        let mu = try npyFloats(dir + "/mu.npy").values
        let active = summary.activeDimensions
        let design = (0..<1000).map { i in [1.0] + active.map { Double(mu[i * 8 + $0]) } }
        for j in 0..<k {
            let target = (0..<1000).map { Double(factors[$0 * k + j]) }
            let r2 = Self.rSquared(design, target)
            XCTAssertGreaterThan(r2, 0.95, "k = \(k): factor \(j) explained with R^2 \(r2) by the active units")
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
    func testFourFactorsGiveFourActiveUnits() throws { try check(k: 4, seed: 3) }
}
