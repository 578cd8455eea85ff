import Datasets
@testable import Training
import VAE
import XCTest

/// The slices of `--shard-optimizer` tile the arena in rank order, aligned, and the memory
/// estimate counts only one slice's moments per rank.
final class OptimizerShardTests: XCTestCase {
    func testSlicesTileTheArenaInAlignedRankOrder() throws {
        for (total, ranks) in [(1_000_003, 3), (76_582, 2), (100, 8), (5, 4), (64, 1)] {
            let shards = try (0..<ranks).map { try OptimizerShard(total: total, ranks: ranks, rank: $0) }
            var next = 0
            for shard in shards {
                XCTAssertEqual(shard.range.lowerBound, next, "\(total) over \(ranks)")
                // Ranks beyond the arena's end (tiny models, many ranks) get empty slices there.
                if !shard.range.isEmpty { XCTAssertEqual(shard.range.lowerBound % OptimizerShard.alignment, 0) }
                XCTAssertLessThanOrEqual(shard.range.count, shard.largest)
                next = shard.range.upperBound
            }
            XCTAssertEqual(next, total, "\(total) over \(ranks): the slices must cover the arena")
            XCTAssertEqual(shards[0].counts.map(Int.init).reduce(0, +), total)
            XCTAssertLessThan(shards[0].largest, (total + ranks - 1) / ranks + OptimizerShard.alignment)
        }
    }

    func testMemoryEstimateCountsOneShardOfMomentsPerRank() throws {
        let model = ModelConfig.benchmark
        let data = SyntheticData.make(count: 600, factors: 3, seed: 1)
        let p = model.parameterCount
        var config = TrainConfig()
        let whole = MemoryEstimate.training(config, model: model, rowsPerRank: 64, ranks: 4, trainSet: data, testSet: nil, resume: false)
        config.shardOptimizer = true
        let sharded = MemoryEstimate.training(config, model: model, rowsPerRank: 64, ranks: 4, trainSet: data, testSet: nil, resume: false)
        let momentsWhole = whole.parts.first { $0.what == "Adam's moments" }?.bytes
        let momentsSharded = sharded.parts.first { $0.what.hasPrefix("Adam's moments (this rank's shard)") }?.bytes
        XCTAssertEqual(momentsWhole, 8 * p)
        let largest = try OptimizerShard(total: p, ranks: 4, rank: 0).largest
        XCTAssertEqual(momentsSharded, 8 * largest)
        // Down by 2(p-1)/p of the moments, to within one aligned line a rank.
        XCTAssertEqual(Double(whole.total - sharded.total), Double(8 * p) * 3 / 4, accuracy: Double(8 * 16 * 4))
    }
}
