import Datasets
import XCTest
@testable import Explain

final class StatisticsTests: XCTestCase {
    func arrays(mu: [Float], logvar: [Float], negELBO: [Float], latent: Int) -> PosteriorArrays {
        var a = PosteriorArrays(latent: latent)
        let n = negELBO.count
        let kl = zip(mu, logvar).map { PosteriorArrays.kl(mu: $0, logvar: $1) }
        mu.withUnsafeBufferPointer { m in
            logvar.withUnsafeBufferPointer { l in
                kl.withUnsafeBufferPointer { k in
                    a.append(rows: n, mu: m, logvar: l, klPerDim: k, negELBO: negELBO, recon: negELBO.map { $0 - 1 },
                             negLogPxIWAE: [])
                }
            }
        }
        return a
    }

    func testKLPerDimension() {
        XCTAssertEqual(PosteriorArrays.kl(mu: 0, logvar: 0), 0)
        // 0.5 * (mu^2 + e^lv - 1 - lv) at mu = 1, lv = log 2: 0.5 * (1 + 2 - 1 - ln 2)
        XCTAssertEqual(PosteriorArrays.kl(mu: 1, logvar: logf(2)), 0.5 * (2 - logf(2)), accuracy: 1e-6)
    }

    func testActiveUnitsMeansAndOrder() {
        // 4 samples x 3 dims: dim 0 varies a lot, dim 1 a little (var 0.0025 < 0.01), dim 2 is constant.
        let mu: [Float] = [ 1, 0.05, 3,
                           -1, -0.05, 3,
                            1, 0.05, 3,
                           -1, -0.05, 3]
        let logvar = [Float](repeating: 0, count: 12)
        let a = arrays(mu: mu, logvar: logvar, negELBO: [5, 1, .nan, 3], latent: 3)
        let s = LatentStatistics(a, labels: [0, 1, 0, 1], activeThreshold: 0.01)
        XCTAssertEqual(s.posteriorMeanVariance[0], 1, accuracy: 1e-9)
        XCTAssertEqual(s.posteriorMeanVariance[1], 0.0025, accuracy: 1e-9)
        XCTAssertEqual(s.posteriorMeanVariance[2], 0, accuracy: 1e-12)
        XCTAssertEqual(s.activeDimensions, [0])
        // Mean KL: dim 2 has mu = 3 everywhere: 4.5 nats; dim 0: 0.5; dim 1: 0.00125.
        XCTAssertEqual(s.meanKL[2], 4.5, accuracy: 1e-6)
        XCTAssertEqual(s.meanKL[0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.dimensionsByKL, [2, 0, 1])
        // Aggregate posterior: var of means + mean of variances (1 each).
        XCTAssertEqual(s.aggregateStd[0], (1.0 + 1.0).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(s.aggregateMean[2], 3, accuracy: 1e-6)
        // NaN sorts last (most atypical); ties by index.
        XCTAssertEqual(s.indicesByNegELBO, [1, 3, 0, 2])
        XCTAssertEqual(s.classes.map(\.label), [0, 1])
        XCTAssertEqual(s.classes[1].count, 2)
        XCTAssertEqual(s.classes[1].meanNegELBO, 2, accuracy: 1e-9)
        XCTAssertEqual(s.classes[0].meanMu[0], 1, accuracy: 1e-9)
        XCTAssertEqual(s.classes[1].meanMu[1], -0.05, accuracy: 1e-7)
    }

    func testVarianceIsStableForLargeMeans() {
        let mu: [Float] = [1000.1, 999.9, 1000.1, 999.9]
        let a = arrays(mu: mu, logvar: [0, 0, 0, 0], negELBO: [1, 1, 1, 1], latent: 1)
        let s = LatentStatistics(a, labels: nil, activeThreshold: 0.01)
        XCTAssertEqual(s.posteriorMeanVariance[0], 0.01, accuracy: 1e-4)
        XCTAssertTrue(s.classes.isEmpty)
    }

    func testShardsCoverEverythingOnce() {
        for n in [1, 7, 10, 101] {
            for p in 1...5 {
                let shards = (0..<p).map { ShardedSampler.contiguousShare(of: n, rank: $0, worldSize: p) }
                XCTAssertEqual(shards.first?.lowerBound, 0)
                XCTAssertEqual(shards.last?.upperBound, n)
                for k in 1..<p { XCTAssertEqual(shards[k - 1].upperBound, shards[k].lowerBound) }
                let sizes = shards.map(\.count)
                XCTAssertLessThanOrEqual((sizes.max() ?? 0) - (sizes.min() ?? 0), 1)
            }
        }
    }

    func testNearestNeighbours() {
        // 1-d reference points 0, 1, ..., 9; query 4.2 -> 4, 5, 3.
        let ref = (0..<10).map(Float.init)
        let found = NearestNeighbours.search(query: [4.2], reference: ref, latent: 1, k: 3)
        XCTAssertEqual(found.map(\.index), [4, 5, 3])
        XCTAssertEqual(found[0].distance, 0.2, accuracy: 1e-6)
        let excluding = NearestNeighbours.search(query: [4], reference: ref, latent: 1, k: 2, excluding: 4)
        XCTAssertEqual(excluding.map(\.index), [3, 5])
        XCTAssertTrue(NearestNeighbours.search(query: [4], reference: ref, latent: 1, k: 0).isEmpty)
    }

    func testCSVQuoting() {
        var t = CSVDocument(header: ["a", "b"])
        t.add(["x,y", "say \"hi\""])
        XCTAssertEqual(t.render(), "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n")
    }

    func testOptionValidation() {
        var o = ExplainOptions(outDir: "/tmp/x")
        XCTAssertNoThrow(try o.validate(count: 10, latent: 2))
        o.samples = [3, 10]
        XCTAssertThrowsError(try o.validate(count: 10, latent: 2)) { e in
            XCTAssertEqual("\(e)", "explain --sample 10: expected an index of the evaluation set in 0..<10, found 10")
        }
        o.samples = []
        o.iwaeK = -1
        XCTAssertThrowsError(try o.validate(count: 10, latent: 2))
        o.iwaeK = 5
        o.batchSize = 0
        XCTAssertThrowsError(try o.validate(count: 10, latent: 2))
        o.batchSize = 10
        o.upscale = 100
        XCTAssertThrowsError(try o.validate(count: 10, latent: 2)) { e in XCTAssertTrue("\(e)".contains("upscale <= 16")) }
        o.upscale = 2
        XCTAssertNoThrow(try o.validate(count: 10, latent: 2))
        XCTAssertThrowsError(try o.validate(count: 0, latent: 2))
    }
}
