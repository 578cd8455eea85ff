import Basics
import Datasets
import Foundation
import MPI
import VAE

/// Data-parallel scaling measured in one run: the training step at `batchPerRank` on rank 0 alone
/// (the others idle), the same step data-parallel on every rank at a global batch of
/// `batchPerRank` x ranks, every rank stepping alone at the same time (no communication), and a
/// bare allreduce of the same buffer. Windows of these alternate so drift in the machine's speed
/// hits all of them alike; medians are reported.
public struct DistributedBenchmarkResult: Codable {
    public var worldSize: Int
    public var batchPerRank: Int
    public var parameterCount: Int
    /// Floats each step's allreduce carries: the gradients and the loss tail.
    public var reducedCount: Int
    public var singleRankSamplesPerSecond: Double
    public var parallelSamplesPerSecond: Double
    /// parallel / (worldSize x single): 1 is perfect scaling.
    public var scalingEfficiency: Double
    public var allreduceInStepMilliseconds: Double
    public var bareAllreduceMilliseconds: Double
    /// in-step / bare: how much the step's allreduce costs over the bare collective.
    public var allreduceOverhead: Double
    public var allreduceShareOfStep: Double
    /// From windows with a barrier before each allreduce: the wait for the slowest rank, and the
    /// transfer alone (comparable with the bare allreduce).
    public var waitForSlowestRankMilliseconds: Double
    public var allreduceTransferMilliseconds: Double
    public var transferOverBare: Double
    /// Every rank running its own single-rank step at the same time, no communication at all:
    /// samples/s of all ranks together, and that over `worldSize` x single. What the ranks lose
    /// to sharing the node's caches and memory alone, the ceiling of `scalingEfficiency`.
    public var independentSamplesPerSecond: Double
    public var independentEfficiency: Double
    /// The most `scalingEfficiency` can be on this node: every rank's step at its no-communication
    /// concurrent time plus one bare allreduce, no waiting for a slower rank.
    public var scalingCeiling: Double
    public var windows: Int
}

public enum DistributedBenchmark {
    public static func run(comm: Communicator, config base: TrainConfig, windows: Int = 7, stepsPerWindow: Int = 30) throws -> DistributedBenchmarkResult {
        var config = base
        let data = SyntheticData.make(count: 4096, factors: 3, seed: config.seed)
        let modelConfig = try config.modelConfig(inputDim: data.dimension, sampleShape: data.sampleShape)
        let batchPerRank = config.batchSize

        // Each rank in a world of its own, same code path, allreduce of one rank included: rank 0
        // alone gives the single-rank figure, all of them at once the no-communication ceiling.
        let solo = try comm.split(color: comm.rank, key: 0)
        guard let solo else { throw AgreedError("could not split the communicator for the benchmark") }
        let soloModel = VAEModel(config: modelConfig, seed: config.seed)
        let soloStep = try DataParallelStep(
            model: soloModel, optimizer: Adam(count: soloModel.parameterCount, lr: config.lr), trainSet: data,
            sampler: ShardedSampler(datasetCount: data.count, globalBatch: batchPerRank, worldSize: 1, rank: 0, seed: config.seed),
            config: config, comm: solo)

        config.batchSize = batchPerRank * comm.size
        let model = VAEModel(config: modelConfig, seed: config.seed)
        let sampler = ShardedSampler(datasetCount: data.count, globalBatch: config.batchSize, worldSize: comm.size, rank: comm.rank, seed: config.seed)
        let step = try DataParallelStep(model: model, optimizer: Adam(count: model.parameterCount, lr: config.lr),
                                        trainSet: data, sampler: sampler, config: config, comm: comm)
        let bare = UnsafeMutableBufferPointer<Float>.allocate(capacity: model.parameterCount + DataParallelStep.tailCount(model: model))
        bare.initialize(repeating: 1)
        defer { bare.deallocate() }

        let soloPermutation = soloStep.sampler.permutation(epoch: 0)
        let permutation = sampler.permutation(epoch: 0)
        var single: [Double] = [], parallel: [Double] = [], inStep: [Double] = [], bareTimes: [Double] = [], shares: [Double] = []
        var waits: [Double] = [], transfers: [Double] = [], independent: [Double] = []

        // One untimed window of each warms caches, page tables and the shared-memory transport.
        for window in 0...windows {
            try comm.barrier()
            if comm.rank == 0 {
                let t0 = Clock.now()
                for s in 0..<stepsPerWindow {
                    _ = try soloStep.run(epoch: 0, step: s % soloStep.sampler.stepsPerEpoch, permutation: soloPermutation, klWeight: 1, stopRequested: false)
                }
                let seconds = Clock.now() - t0
                if window > 0 { single.append(Double(stepsPerWindow * batchPerRank) / seconds) }
            }
            try comm.barrier()

            var reduceSeconds = 0.0
            let t0 = Clock.now()
            for s in 0..<stepsPerWindow {
                reduceSeconds += try step.run(epoch: 0, step: s % sampler.stepsPerEpoch, permutation: permutation, klWeight: 1, stopRequested: false).reduceSeconds
            }
            var elapsed = [Clock.now() - t0, reduceSeconds]
            // The slowest rank sets the pace of the job.
            try comm.allreduce(&elapsed, op: .max)
            if window > 0 {
                parallel.append(Double(stepsPerWindow * config.batchSize) / elapsed[0])
                inStep.append(elapsed[1] / Double(stepsPerWindow))
                shares.append(elapsed[1] / elapsed[0])
            }

            // The same step with the wait for the slowest rank split off the allreduce.
            step.separateWait = true
            var split = [0.0, 0.0]
            for s in 0..<stepsPerWindow {
                let r = try step.run(epoch: 0, step: s % sampler.stepsPerEpoch, permutation: permutation, klWeight: 1, stopRequested: false)
                split[0] += r.waitSeconds; split[1] += r.reduceSeconds
            }
            step.separateWait = false
            try comm.allreduce(&split, op: .max)
            if window > 0 { waits.append(split[0] / Double(stepsPerWindow)); transfers.append(split[1] / Double(stepsPerWindow)) }

            try comm.barrier()
            let i0 = Clock.now()
            for s in 0..<stepsPerWindow {
                _ = try soloStep.run(epoch: 0, step: s % soloStep.sampler.stepsPerEpoch, permutation: soloPermutation, klWeight: 1, stopRequested: false)
            }
            var soloElapsed = [Clock.now() - i0]
            try comm.allreduce(&soloElapsed, op: .max)
            if window > 0 { independent.append(Double(comm.size * stepsPerWindow * batchPerRank) / soloElapsed[0]) }

            try comm.barrier()
            let b0 = Clock.now()
            for _ in 0..<stepsPerWindow { try comm.allreduce(bare, op: .sum) }
            var bareSeconds = [Clock.now() - b0]
            try comm.allreduce(&bareSeconds, op: .max)
            if window > 0 { bareTimes.append(bareSeconds[0] / Double(stepsPerWindow)) }
        }

        var singleMedian = [median(single)]
        try comm.broadcast(&singleMedian, root: 0)
        let inStepMedian = median(inStep), bareMedian = median(bareTimes)
        return DistributedBenchmarkResult(
            worldSize: comm.size, batchPerRank: batchPerRank, parameterCount: model.parameterCount,
            reducedCount: model.parameterCount + DataParallelStep.tailCount(model: model),
            singleRankSamplesPerSecond: singleMedian[0], parallelSamplesPerSecond: median(parallel),
            scalingEfficiency: median(parallel) / (Double(comm.size) * singleMedian[0]),
            allreduceInStepMilliseconds: inStepMedian * 1000, bareAllreduceMilliseconds: bareMedian * 1000,
            allreduceOverhead: inStepMedian / max(bareMedian, 1e-12), allreduceShareOfStep: median(shares),
            waitForSlowestRankMilliseconds: median(waits) * 1000, allreduceTransferMilliseconds: median(transfers) * 1000,
            transferOverBare: median(transfers) / max(bareMedian, 1e-12),
            independentSamplesPerSecond: median(independent),
            independentEfficiency: median(independent) / (Double(comm.size) * singleMedian[0]),
            scalingCeiling: ceiling(independentSamplesPerSecond: median(independent), batchPerRank: batchPerRank,
                                    worldSize: comm.size, bareSeconds: bareMedian, singleSamplesPerSecond: singleMedian[0]),
            windows: windows)
    }

    /// Samples/s of steps that take the concurrent no-communication time plus a bare allreduce,
    /// over `worldSize` x single.
    static func ceiling(independentSamplesPerSecond: Double, batchPerRank: Int, worldSize: Int, bareSeconds: Double,
                        singleSamplesPerSecond: Double) -> Double {
        guard independentSamplesPerSecond > 0, singleSamplesPerSecond > 0 else { return .nan }
        let globalBatch = Double(batchPerRank * worldSize)
        let stepSeconds = globalBatch / independentSamplesPerSecond + bareSeconds
        return globalBatch / stepSeconds / (Double(worldSize) * singleSamplesPerSecond)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
