import Datasets
import Foundation
import Linalg
import MPI
import VAE

/// One option's training step as measured, beside what the model predicts for it.
public struct MeasuredStep: Codable, Sendable {
    public var option: ExchangeOption
    public var ranks: Int
    public var batchPerRank: Int
    public var stepSeconds: Double
    public var communicationSeconds: Double
}

/// What `bench --predict` measures on the machine and transport it runs on: the step's compute
/// at several per-rank batches and Adam (every rank working at once, as in a job), the three
/// collectives at several message sizes on the job's communicator, and the real training step
/// with each exchange option. Windows of each alternate so drift hits all alike; medians.
public struct ScalingMeasurement: Codable, Sendable {
    public var worldSize: Int
    public var costs: StepCosts
    public var timings: [CollectiveTiming]
    /// Fitted per collective (keys: `Collective.rawValue`); none on one rank.
    public var fits: [String: LinkCost]
    public var steps: [MeasuredStep]

    public var links: [Collective: LinkCost] {
        Dictionary(uniqueKeysWithValues: fits.compactMap { key, value in Collective(rawValue: key).map { ($0, value) } })
    }

    public static func run(comm: Communicator, batches: [Int], stepBatch: Int, bucketMB: Double, windows: Int = 9,
                           stepsPerWindow: Int = 10) throws -> ScalingMeasurement {
        precondition(windows >= 1 && !batches.isEmpty, "ScalingMeasurement: at least one window and one batch")
        let config = TrainConfig()
        let data = SyntheticData.make(count: 4096, factors: 3, seed: config.seed)
        let modelConfig = try config.modelConfig(inputDim: data.dimension, sampleShape: data.sampleShape)
        guard let solo = try comm.split(color: comm.rank, key: 0) else {
            throw AgreedError("could not split the communicator for the benchmark")
        }
        let p = comm.size

        // Compute and Adam, every rank alone but all at once.
        let soloModel = VAEModel(config: modelConfig, seed: config.seed)
        let n = soloModel.parameterCount
        let soloAdam = Adam(count: n, lr: config.lr)
        let soloSteps = try batches.map { b -> DataParallelStep in
            var c = config
            c.batchSize = b
            return try DataParallelStep(model: soloModel, optimizer: soloAdam, trainSet: data,
                                        sampler: ShardedSampler(datasetCount: data.count, globalBatch: b, worldSize: 1, rank: 0, seed: c.seed),
                                        config: c, comm: solo)
        }
        let soloPermutation = soloSteps[0].sampler.permutation(epoch: 0)
        // The option steps' batch alone, run free and then with a barrier after every step: the
        // difference is what waiting for the slowest rank costs a step.
        var syncConfig = config
        syncConfig.batchSize = stepBatch
        let syncStep = try DataParallelStep(model: soloModel, optimizer: soloAdam, trainSet: data,
                                            sampler: ShardedSampler(datasetCount: data.count, globalBatch: stepBatch, worldSize: 1,
                                                                    rank: 0, seed: config.seed),
                                            config: syncConfig, comm: solo)
        let syncPermutation = syncStep.sampler.permutation(epoch: 0)
        var freeTimes: [Double] = [], syncedTimes: [Double] = []
        var stepTimes = [[Double]](repeating: [], count: batches.count)
        var adamTimes: [Double] = []
        let scratch = FloatBuffer(count: n)
        let halves = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: n)
        defer { halves.deallocate() }
        var conversion: [Double] = [], adds: [Double] = []

        // The real step with each option on the whole communicator.
        let options: [ExchangeOption] = [.fused, .buckets(megabytes: bucketMB), .bf16, .sharded]
        let optionSteps = try options.map { option -> DataParallelStep in
            var c = config
            c.batchSize = stepBatch * p
            switch option {
            case .fused: break
            case .buckets(let mb): c.gradBucketMB = mb
            case .bf16: c.gradCompression = "bf16"
            case .sharded: c.shardOptimizer = true
            }
            let model = VAEModel(config: modelConfig, seed: c.seed)
            let count = c.shardOptimizer ? try OptimizerShard(total: n, ranks: p, rank: comm.rank).range.count : n
            return try DataParallelStep(model: model, optimizer: Adam(count: count, lr: c.lr), trainSet: data,
                                        sampler: ShardedSampler(datasetCount: data.count, globalBatch: c.batchSize, worldSize: p,
                                                                rank: comm.rank, seed: c.seed),
                                        config: c, comm: comm)
        }
        let permutation = optionSteps[0].sampler.permutation(epoch: 0)
        var optionTimes = [[Double]](repeating: [], count: options.count)
        var optionComm = [[Double]](repeating: [], count: options.count)

        // Collectives: message sizes from a few cache lines to the whole gradient arena.
        let sizes = [256, 4096, 32768, 262_144, n].filter { $0 <= n }
        let buffer = FloatBuffer(count: n + 64)
        let received = FloatBuffer(count: n)
        var collectiveTimes = [String: [Double]]()
        func timeCollective(_ c: Collective, _ size: Int) throws {
            let shard = try OptimizerShard(total: size, ranks: p, rank: comm.rank)
            let reps = max(3, min(40, 4_000_000 / max(size, 1) / 4))
            try comm.barrier()
            let t0 = Clock.now()
            try shard.counts.withUnsafeBufferPointer { counts in
                try shard.displacements.withUnsafeBufferPointer { displacements in
                    for _ in 0..<reps {
                        switch c {
                        case .allreduce: try comm.allreduce(UnsafeMutableBufferPointer(rebasing: buffer.buffer[0..<size]), op: .sum)
                        case .reduceScatter:
                            try comm.reduceScatter(UnsafeBufferPointer(rebasing: buffer.buffer[0..<size]), into: received.buffer,
                                                   counts: counts, op: .sum)
                        case .allgather:
                            try comm.allgatherSlices(UnsafeMutableBufferPointer(rebasing: buffer.buffer[0..<size]), counts: counts,
                                                     displacements: displacements)
                        }
                    }
                }
            }
            var elapsed = [(Clock.now() - t0) / Double(reps)]
            try comm.allreduce(&elapsed, op: .max)
            collectiveTimes["\(c.rawValue) \(size)", default: []].append(elapsed[0])
        }

        for window in 0...windows {
            let counted = window > 0
            for (k, step) in soloSteps.enumerated() {
                try comm.barrier()
                let t0 = Clock.now()
                for s in 0..<stepsPerWindow {
                    _ = try step.run(epoch: 0, step: s % step.sampler.stepsPerEpoch, permutation: soloPermutation, klWeight: 1,
                                     stopRequested: false)
                }
                var elapsed = [(Clock.now() - t0) / Double(stepsPerWindow)]
                try comm.allreduce(&elapsed, op: .max)
                if counted { stepTimes[k].append(elapsed[0]) }
            }
            for synchronized in [false, true] {
                try comm.barrier()
                let t0 = Clock.now()
                for s in 0..<stepsPerWindow {
                    _ = try syncStep.run(epoch: 0, step: s % syncStep.sampler.stepsPerEpoch, permutation: syncPermutation,
                                         klWeight: 1, stopRequested: false)
                    if synchronized { try comm.barrier() }
                }
                var elapsed = [(Clock.now() - t0) / Double(stepsPerWindow)]
                try comm.allreduce(&elapsed, op: .max)
                if counted { if synchronized { syncedTimes.append(elapsed[0]) } else { freeTimes.append(elapsed[0]) } }
            }
            try comm.barrier()
            let a0 = Clock.now()
            for _ in 0..<stepsPerWindow {
                soloAdam.update(parameters: scratch.buffer, gradients: soloModel.gradients, gradScale: 0)
            }
            var adam = [(Clock.now() - a0) / Double(stepsPerWindow)]
            try comm.allreduce(&adam, op: .max)
            if counted { adamTimes.append(adam[0]) }

            let g = soloModel.gradients.baseAddress!, h = halves.baseAddress!, y = scratch.pointer
            let c0 = Clock.now()
            BF16Arrays.pack(g, into: h, count: n)
            BF16Arrays.unpack(h, into: y, count: n)
            let c1 = Clock.now()
            for i in 0..<n { y[i] += g[i] }
            let c2 = Clock.now()
            if counted { conversion.append((c1 - c0) / Double(n)); adds.append((c2 - c1) / Double(4 * n)) }

            for (k, step) in optionSteps.enumerated() {
                try comm.barrier()
                var reduce = 0.0
                let t0 = Clock.now()
                for s in 0..<stepsPerWindow {
                    reduce += try step.run(epoch: 0, step: s % step.sampler.stepsPerEpoch, permutation: permutation, klWeight: 1,
                                           stopRequested: false).reduceSeconds
                }
                var elapsed = [(Clock.now() - t0) / Double(stepsPerWindow), reduce / Double(stepsPerWindow)]
                try comm.allreduce(&elapsed, op: .max)
                if counted { optionTimes[k].append(elapsed[0]); optionComm[k].append(elapsed[1]) }
            }
            if p > 1 {
                for size in sizes { for c in Collective.allCases { try timeCollective(c, size) } }
            }
        }

        let adam = DistributedBenchmark.median(adamTimes)
        let compute = stepTimes.map { max(0, DistributedBenchmark.median($0) - adam) }
        let costs = StepCosts(parameterCount: n, batches: batches, computeSeconds: compute, adamSeconds: adam,
                              synchronizationSeconds: max(0, DistributedBenchmark.median(syncedTimes) - DistributedBenchmark.median(freeTimes)),
                              conversionSeconds: DistributedBenchmark.median(conversion),
                              addSecondsPerByte: DistributedBenchmark.median(adds))
        var timings: [CollectiveTiming] = []
        if p > 1 {
            for size in sizes {
                for c in Collective.allCases {
                    timings.append(CollectiveTiming(collective: c, ranks: p, bytes: Double(4 * size),
                                                    seconds: DistributedBenchmark.median(collectiveTimes["\(c.rawValue) \(size)"] ?? [])))
                }
            }
        }
        var fits: [String: LinkCost] = [:]
        for c in Collective.allCases {
            if let fit = AlphaBetaFit.fit(timings.filter { $0.collective == c }) { fits[c.rawValue] = fit }
        }
        let steps = options.indices.map {
            MeasuredStep(option: options[$0], ranks: p, batchPerRank: stepBatch,
                         stepSeconds: DistributedBenchmark.median(optionTimes[$0]),
                         communicationSeconds: DistributedBenchmark.median(optionComm[$0]))
        }
        return ScalingMeasurement(worldSize: p, costs: costs, timings: timings, fits: fits, steps: steps)
    }
}
