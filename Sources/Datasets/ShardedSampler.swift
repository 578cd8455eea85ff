/// The data-parallel split of each global batch.
///
/// Each epoch visits a permutation of the whole dataset drawn from (seed, epoch). Step s of an
/// epoch takes positions s*B ..< min((s+1)*B, N) of that permutation (the last, partial batch is
/// kept, so every sample is seen once per epoch); that global batch is cut into `worldSize`
/// contiguous shares whose sizes differ by at most one, the larger shares going to the lower
/// ranks. Every rank computes the same permutation and the same number of steps, so the union of
/// the shares does not depend on the number of ranks, and a rank whose share is empty (a final
/// batch smaller than the world) still takes part in the step.
public struct ShardedSampler {
    public let datasetCount: Int
    public let globalBatch: Int
    public let worldSize: Int
    public let rank: Int
    public let seed: UInt64

    /// Arguments must pass `ShardedSampler.check`; callers validate flags with it first.
    public init(datasetCount: Int, globalBatch: Int, worldSize: Int, rank: Int, seed: UInt64) {
        precondition((try? ShardedSampler.check(datasetCount: datasetCount, globalBatch: globalBatch,
                                                 worldSize: worldSize, rank: rank)) != nil,
                     "invalid ShardedSampler arguments; validate them with ShardedSampler.check first")
        self.datasetCount = datasetCount
        self.globalBatch = globalBatch
        self.worldSize = worldSize
        self.rank = rank
        self.seed = seed
    }

    /// Throws a one-line error naming the flag or value when the arguments cannot make a sampler.
    public static func check(datasetCount: Int, globalBatch: Int, worldSize: Int, rank: Int) throws {
        guard globalBatch >= 1 else { throw DataError("--batch-size", "expected a positive global batch, found \(globalBatch)") }
        guard datasetCount >= 1 else { throw DataError("dataset", "expected at least one sample, found \(datasetCount)") }
        guard datasetCount <= Int(Int32.max) else {
            throw DataError("dataset", "\(datasetCount) samples exceed the sampler's limit of \(Int32.max)")
        }
        guard worldSize >= 1 else { throw DataError("world size", "expected at least 1 rank, found \(worldSize)") }
        guard rank >= 0 && rank < worldSize else { throw DataError("rank", "expected 0..<\(worldSize), found \(rank)") }
    }

    /// ceil(N / B): the last, partial batch is kept.
    public var stepsPerEpoch: Int { (datasetCount + globalBatch - 1) / globalBatch }

    /// Samples in the final batch of each epoch (equal to `globalBatch` when B divides N).
    public var finalBatchSize: Int { datasetCount - (stepsPerEpoch - 1) * globalBatch }

    /// The epoch's order of dataset indices: a Fisher–Yates shuffle driven by SplitMix64 keyed by
    /// (seed, epoch). The same on every rank and every run.
    public func permutation(epoch: Int) -> [Int32] {
        var order = [Int32](unsafeUninitializedCapacity: datasetCount) { buffer, initialized in
            for i in 0..<datasetCount { buffer[i] = Int32(i) }
            initialized = datasetCount
        }
        var random = SplitMix64(keys: seed, 0x5045_524d /* "PERM" */, UInt64(bitPattern: Int64(epoch)))
        order.withUnsafeMutableBufferPointer { p in
            var i = datasetCount - 1
            while i > 0 {
                let j = Int(random.next(below: UInt64(i + 1)))
                p.swapAt(i, j)
                i -= 1
            }
        }
        return order
    }

    /// Samples in the global batch of `step` (B, or fewer on the last step of the epoch).
    public func globalBatchSize(step: Int) -> Int {
        precondition(step >= 0 && step < stepsPerEpoch, "step \(step) outside 0..<\(stepsPerEpoch)")
        return min(globalBatch, datasetCount - step * globalBatch)
    }

    /// Positions in the epoch's permutation that this rank takes at `step`.
    public func shareRange(step: Int) -> Range<Int> {
        shareRange(step: step, rank: rank)
    }

    /// Positions in the epoch's permutation that `rank` takes at `step`: a contiguous slice of
    /// the global batch; the first (size mod worldSize) ranks take one more sample than the rest.
    public func shareRange(step: Int, rank: Int) -> Range<Int> {
        let size = globalBatchSize(step: step)
        let base = size / worldSize
        let extra = size % worldSize
        let start = step * globalBatch + rank * base + min(rank, extra)
        return start ..< start + base + (rank < extra ? 1 : 0)
    }

    /// The largest share any rank gets at any step: ceil(B / worldSize). Size batch buffers by it.
    public var maxShare: Int { (min(globalBatch, datasetCount) + worldSize - 1) / worldSize }

    /// This rank's share of step `step`: dataset indices, and the global batch size of that step
    /// (the divisor for averaging gradients).
    public func shard(step: Int, permutation: [Int32]) -> (indices: ArraySlice<Int32>, globalBatchSize: Int) {
        (permutation[shareRange(step: step)], globalBatchSize(step: step))
    }

    /// Samples consumed by the whole job before (epoch, step) starts: a resume point that does
    /// not depend on the number of ranks.
    public func position(epoch: Int, step: Int) -> Int {
        epoch * datasetCount + min(step * globalBatch, datasetCount)
    }

    /// The (epoch, step) that starts at `globalSamplePosition`, or nil when the position is
    /// negative or falls inside a step (saved with another batch size).
    public func locate(globalSamplePosition: Int) -> (epoch: Int, step: Int)? {
        guard globalSamplePosition >= 0 else { return nil }
        let epoch = globalSamplePosition / datasetCount
        let within = globalSamplePosition % datasetCount
        guard within % globalBatch == 0 else { return nil }
        return (epoch, within / globalBatch)
    }
}

extension ShardedSampler {
    /// Rank `rank`'s contiguous share of `count` items split over `worldSize` ranks (sizes differ
    /// by at most one; a rank may get none): how evaluation and the explanation export divide a
    /// dataset, where order matters and no batches are drawn.
    public static func contiguousShare(of count: Int, rank: Int, worldSize: Int) -> Range<Int> {
        (count * rank / worldSize)..<(count * (rank + 1) / worldSize)
    }
}
