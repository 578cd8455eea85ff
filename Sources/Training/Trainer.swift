import Basics
import Datasets
import Foundation
import Linalg
import MPI
import VAE

/// What a finished run reports.
public struct TrainSummary {
    public var steps: Int
    public var epochsCompleted: Int
    public var lastTrainNegELBO: Double?
    public var lastTestNegELBO: Double?
    public var samplesPerSecond: Double
    public var stoppedBySignal: Bool
    /// The trained replica (identical on every rank) and the data it saw, for the export.
    public var model: VAEModel
    public var trainSet: Dataset
    public var testSet: Dataset?
    /// Rank 0: the last checkpoint written (path and data checksum).
    public var lastCheckpoint: (path: String, dataCRC32: UInt32)?
}

/// The data-parallel training loop. Every rank runs it; they differ only in which rows of each
/// global batch they compute. One allreduce a step carries the gradients and the loss sums.
public final class Trainer {
    public let config: TrainConfig
    let comm: Communicator
    let run: RunDirectory
    let resume: Bool
    let out: (String) -> Void
    /// Keys of the arithmetic settings the command line chose (see `ArithmeticSettings`): on
    /// resume they are kept and reported when they differ from the run's, the others restored.
    public var explicitArithmetic: Set<String> = []

    /// `out` receives rank 0's report lines (epoch lines, notices); other ranks stay silent.
    public init(config: TrainConfig, communicator: Communicator, resume: Bool, out: @escaping (String) -> Void) throws {
        try config.validate()
        self.config = config
        self.comm = communicator
        self.run = RunDirectory(path: config.out)
        self.resume = resume
        self.out = communicator.rank == 0 ? out : { _ in }
    }

    /// Everything a run holds once set up; identical in shape on every rank.
    private struct Setup {
        let trainSet: Dataset
        let testSet: Dataset?
        let dataSeconds: Double
        let modelConfig: ModelConfig
        let model: VAEModel
        let optimizer: Adam
        let state: TrainingState
        let store: CheckpointStore
        let sampler: ShardedSampler
        let position: TrainingPosition
        let sharedArenas: NodeSharedArenas?
    }

    /// One epoch's sums, over the steps this process ran in it.
    private struct EpochTotals {
        var terms: LossTerms
        var rows = 0
        var stepSeconds = 0.0, reduceSeconds = 0.0
        var samplesPerSecond: Double { Double(rows) / max(stepSeconds, 1e-9) }
        var allreduceShare: Double { reduceSeconds / max(stepSeconds, 1e-9) }
        var negELBO: Double { rows > 0 ? terms.total / Double(rows) : .nan }
    }

    public func train() throws -> TrainSummary {
        let setup = try prepare()
        let (model, optimizer, state, sampler) = (setup.model, setup.optimizer, setup.state, setup.sampler)
        let stepsPerEpoch = sampler.stepsPerEpoch
        // Rank 0 opens the log; every rank learns whether it could, so none is left in a collective.
        var metrics = try MetricsLog(path: nil)
        try comm.rootDecides { metrics = try MetricsLog(path: run.metricsPath) }
        let progress = ProgressReporter(enabled: comm.rank == 0, logEvery: config.logEvery, stepsPerEpoch: stepsPerEpoch, out: out)
        let step = try DataParallelStep(model: model, optimizer: optimizer, trainSet: setup.trainSet, sampler: sampler,
                                        config: config, comm: comm, sharedArenas: setup.sharedArenas, lowRank: state.lowRank)
        let evaluation = config.evaluateTest
            ? setup.testSet.map {
                DistributedEvaluation(model: model, dataset: $0, comm: comm, seed: config.seed,
                                      trainingCount: setup.trainSet.count)
            } : nil
        let stop = StopRequest.install()
        /// Saves on rank 0 and records it; at an epoch's end also the share of the epoch it cost.
        func save(_ position: TrainingPosition, epochSeconds: Double? = nil) throws {
            // Non-finite parameters never replace a checkpoint; the end of the run says so.
            guard RunEnding.finite(model) else { return }
            try state.save(to: setup.store, position: position, comm: comm, config: config, modelConfig: setup.modelConfig,
                           datasetCount: setup.trainSet.count, log: out)
            guard comm.rank == 0, let saved = state.lastSaved else { return }
            var record: [String: Any] = ["kind": "checkpoint", "epoch": position.epoch, "step": position.globalStep,
                                         "path": saved.path, "seconds": saved.seconds]
            if let epochSeconds { record["share_of_epoch"] = saved.seconds / max(epochSeconds, 1e-9) }
            metrics.write(record)
        }

        var summary = TrainSummary(steps: setup.position.globalStep, epochsCompleted: setup.position.epoch, samplesPerSecond: 0,
                                   stoppedBySignal: false, model: model, trainSet: setup.trainSet, testSet: setup.testSet)
        var nonFinite = NonFinitePolicy(limit: config.maxNonFiniteSteps, lastGoodStep: setup.position.globalStep)
        let checkpoints = CheckpointPolicy(every: config.checkpointEvery)
        var log = StepLog(every: config.logEvery, termNames: model.lossTermNames, progress: progress, metrics: metrics,
                          isRoot: comm.rank == 0)
        var epoch = setup.position.epoch
        var jobSamples = 0, jobSeconds = 0.0

        StallWatchdog.phase = "training"
        epochLoop: while epoch < config.epochs {
            let permutation = sampler.permutation(epoch: epoch)
            var totals = EpochTotals(terms: model.emptyLossTerms())
            let epochStart = Clock.now()
            let first = epoch == setup.position.epoch ? setup.position.stepInEpoch : 0
            // A run resumed inside or after this epoch has the fitted mixture in its checkpoint.
            if config.model == "gmvae", epoch == config.clusterInitEpoch, first == 0 {
                StallWatchdog.phase = "fitting the mixture"
                let fit = try MixtureFit.run(model: model, trainSet: setup.trainSet, comm: comm, seed: config.seed)
                StallWatchdog.phase = "training"
                var line = String(format: "mixture fitted to the encoder's means at the start of epoch %d in %.2f s: cluster sizes ", epoch + 1, fit.seconds)
                    + fit.sizes.map(String.init).joined(separator: " ")
                var record: [String: Any] = ["kind": "mixture_fit", "epoch": epoch + 1, "sizes": fit.sizes, "seconds": fit.seconds]
                if let a = fit.agreement {
                    line += String(format: "; on the training labels accuracy %.3f, NMI %.3f", a.accuracy, a.nmi)
                    record["train_accuracy"] = a.accuracy
                    record["train_nmi"] = a.nmi
                }
                out(line)
                if comm.rank == 0 { metrics.write(record) }
            }
            // From the epoch alone, at each epoch's start: a resumed run gets its phase's rate wherever it resumed.
            optimizer.lr = config.learningRate(epoch: epoch)
            log.beginEpoch(epoch)

            for s in first..<stepsPerEpoch {
                // A resumed run that already reached --max-steps takes no further step.
                if config.maxSteps > 0 && summary.steps >= config.maxSteps {
                    out("this run already reached --max-steps \(config.maxSteps); resume with --max-steps 0 (or a larger limit) to go on")
                    break epochLoop
                }
                let klWeight = config.klWeight(epoch: epoch, step: s, stepsPerEpoch: stepsPerEpoch)
                step.workspace.holdsLatentHead = config.holdsCorrelations(epoch: epoch)
                StallWatchdog.step = summary.steps + 1
                let t0 = Clock.now()
                let result = try step.run(epoch: epoch, step: s, permutation: permutation, klWeight: klWeight,
                                          stopRequested: stop.requested)
                let seconds = Clock.now() - t0
                totals.stepSeconds += seconds
                totals.reduceSeconds += result.reduceSeconds
                summary.steps += 1
                if summary.steps == setup.position.globalStep + 1 { reportStartup(dataSeconds: setup.dataSeconds, metrics: metrics) }

                if result.finite { totals.terms += result.terms; totals.rows += result.rows }
                try nonFinite.record(finite: result.finite, step: summary.steps, epoch: epoch, stepInEpoch: s, kept: {
                    state.lastSaved.map { "the last good checkpoint, \($0.path), is kept" }
                        ?? (resume ? "the checkpoint it resumed from is kept" : "no checkpoint had been written yet")
                }, out: out)
                if summary.steps % config.replicaCheckEvery == 0 {
                    try ReplicaCheck.verify(model.parameters, optimizer: config.shardOptimizer ? nil : optimizer, comm: comm, step: summary.steps)
                }
                log.step(result, seconds: seconds, globalStep: summary.steps, epoch: epoch, stepInEpoch: s, klWeight: klWeight)

                let endsEpoch = s + 1 == stepsPerEpoch
                let next = TrainingPosition(epoch: endsEpoch ? epoch + 1 : epoch, stepInEpoch: endsEpoch ? 0 : s + 1,
                                            globalStep: summary.steps)
                if result.stopRequested || (config.maxSteps > 0 && summary.steps >= config.maxSteps) {
                    try save(next)
                    summary.stoppedBySignal = result.stopRequested
                    out(result.stopRequested ? "stopping on a signal; state saved at step \(summary.steps)"
                        : "stopped at step \(summary.steps), the --max-steps limit; state saved (resume with --max-steps 0 to go on)")
                    jobSamples += totals.rows; jobSeconds += totals.stepSeconds
                    break epochLoop
                }
                if checkpoints.savesInsideEpoch(afterStep: summary.steps, endsEpoch: endsEpoch, healthy: nonFinite.healthy) {
                    try save(next)
                }
            }
            log.endEpoch()

            StallWatchdog.phase = "evaluation"
            let evaluationStart = Clock.now()
            let test = try evaluation?.run()
            let evaluationSeconds = Clock.now() - evaluationStart
            StallWatchdog.phase = "training"
            summary.lastTrainNegELBO = totals.negELBO
            summary.lastTestNegELBO = test?.negELBO ?? summary.lastTestNegELBO
            jobSamples += totals.rows; jobSeconds += totals.stepSeconds

            epoch += 1
            summary.epochsCompleted = epoch
            // The epoch's line comes after its checkpoint, so that its wall time includes it.
            let saveStart = Clock.now()
            if checkpoints.savesAtEpochEnd(healthy: nonFinite.healthy) {
                try save(TrainingPosition(epoch: epoch, stepInEpoch: 0, globalStep: summary.steps), epochSeconds: totals.stepSeconds)
            }
            let end = Clock.now()
            report(EpochReport(epoch: epoch, epochs: config.epochs, globalStep: summary.steps, rows: totals.rows,
                               terms: totals.terms, termNames: model.lossTermNames, stepSeconds: totals.stepSeconds,
                               reduceSeconds: totals.reduceSeconds, evaluationSeconds: evaluationSeconds,
                               checkpointSeconds: end - saveStart, wallSeconds: end - epochStart, test: test,
                               worldSize: comm.size), metrics: metrics)
        }

        // A signal from here on ends the process; one that came after the last step was taken
        // (during the last evaluation or save) is every rank's stop too, so the export is skipped.
        stop.endOnSignal(announcing: comm.rank == 0)
        if try comm.allreduce(stop.requested ? Int32(1) : 0, op: .max) != 0, !summary.stoppedBySignal {
            summary.stoppedBySignal = true
            if config.explain { out("stopping on a signal that came after the last step; the explanation export is skipped (resume the run to write it)") }
        }
        try ReplicaCheck.verify(model.parameters, optimizer: config.shardOptimizer ? nil : optimizer, comm: comm, step: summary.steps)
        if let failure = RunEnding.failure(model: model, nonFiniteRun: nonFinite.run, steps: summary.steps, lastGoodStep: nonFinite.lastGoodStep,
                                           stoppedBySignal: summary.stoppedBySignal, lastSaved: state.lastSaved?.path, resumed: resume) {
            throw failure
        }
        summary.lastCheckpoint = state.lastSaved.map { ($0.path, $0.dataCRC32) }
        summary.samplesPerSecond = Double(jobSamples) / max(jobSeconds, 1e-9)
        return summary
    }

    /// Data, agreement across ranks, the run directory, the model and (on resume) its state.
    private func prepare() throws -> Setup {
        let rank = comm.rank, size = comm.size

        // Before anything of the run is written (or the data loaded): a second job on this
        // directory stops here, at once.
        try comm.rootDecides { try RunLock.acquire(runDirectory: run.path, flag: resume ? "--resume" : "--out") }

        // Everyone loads the data; a rank that cannot ends the job for all.
        let dataStart = Clock.now()
        let (trainSet, testSet) = try comm.everyoneSucceeds("loading the data") { () throws -> (Dataset, Dataset?) in
            var train = try DataSource.load(config.data, split: .train)
            if let c = config.excludeClass { train = try train.excluding(label: Int32(c)) }
            guard config.evaluateTest || config.explain else { return (train, nil) }
            let test = try DataSource.load(config.data, split: .test)
            guard test.sampleShape == train.sampleShape else {
                throw ConfigError("--data \(config.data): test samples have shape \(test.sampleShape), training samples \(train.sampleShape)")
            }
            return (train, test)
        }
        let dataSeconds = Clock.now() - dataStart
        let modelConfig = try config.modelConfig(inputDim: trainSet.dimension, sampleShape: trainSet.sampleShape)
        // Everything the run will hold, against what this rank may take, before the model exists.
        let rowsPerRank = (min(config.batchSize, trainSet.count) + size - 1) / size
        _ = try comm.everyoneSucceeds("sizing the run's memory") {
            try MemoryEstimate.training(config, model: modelConfig, rowsPerRank: rowsPerRank, ranks: size, trainSet: trainSet,
                                        testSet: testSet, resume: resume).check()
        }
        // Under the sharded optimizer, ranks that share this host keep their arenas where the
        // others can read them, and sum and gather in place (NodeSharedUpdate).
        var sharedArenas: NodeSharedArenas?
        if config.shardOptimizer && NodeSharedUpdate.enabled {
            let made = try NodeSharedArenas.make(comm: comm, sizes: VAEModel.arenaSizes(config: modelConfig),
                                                 statisticsCount: VAEModel.gradientTailCount + 1)
            sharedArenas = made.arenas
            if let note = made.note { out("note: \(note)") }
        }
        let model = sharedArenas.map { VAEModel(config: modelConfig, seed: config.seed, storage: $0.storage) }
            ?? VAEModel(config: modelConfig, seed: config.seed)

        try StartupAgreement(fields: [
            ("configuration", config.canonicalJSON()),
            ("training data", DataAgreement.describe(trainSet)),
            ("test data", testSet.map(DataAgreement.describe) ?? "none"),
            ("parameter count", "\(model.parameterCount)"),
        ]).check(on: comm)
        // Same data and settings on every rank now, so every rank decides alike.
        do {
            try LikelihoodFit.check(trainSet, for: modelConfig)
            if let testSet { try LikelihoodFit.check(testSet, for: modelConfig) }
        } catch { throw AgreedError("\(error)") }

        try comm.rootDecides {
            if resume {
                guard run.holdsRun else { throw ConfigError("--resume \(run.path): not a run directory (no config.json or checkpoints/)") }
            } else if run.holdsRun {
                throw ConfigError("--out \(run.path) already holds a run; continue it with --resume \(run.path) or choose another --out")
            }
            try run.create()
            // A resumed run keeps its config.json until its checkpoint has proved to fit.
            if !resume { try run.writeConfig(config) }
        }

        // Same data and settings on every rank (checked above), so every rank throws alike here.
        do {
            try ShardedSampler.check(datasetCount: trainSet.count, globalBatch: config.batchSize, worldSize: size, rank: rank)
        } catch { throw AgreedError("\(error)") }
        let sampler = ShardedSampler(datasetCount: trainSet.count, globalBatch: config.batchSize,
                                     worldSize: size, rank: rank, seed: config.seed)
        let shard = config.shardOptimizer ? try OptimizerShard(total: model.parameterCount, ranks: size, rank: rank) : nil
        let optimizer = Adam(count: shard?.range.count ?? model.parameterCount, lr: config.lr, weightDecay: config.weightDecay)
        let lowRank = config.gradLowRank > 0
            ? LowRankExchange(layout: model.layout, parameterCount: model.parameterCount, tailCount: DataParallelStep.tailCount(model: model),
                              rank: config.gradLowRank, seed: config.seed, comm: comm) : nil
        let state = TrainingState(model: model, optimizer: optimizer, shard: shard, lowRank: lowRank)
        let store = CheckpointStore(runDirectory: run.path, keepLast: config.keepCheckpoints)

        // Rank 0's parameters (or its checkpoint) become everyone's: replicas start identical.
        var position = TrainingPosition()
        if resume {
            position = try state.restoreNewest(from: store, comm: comm, modelConfig: modelConfig, sampler: sampler, log: out)
            ArithmeticSettings.reconcile(savedJSON: state.savedArithmetic, explicit: explicitArithmetic).forEach(out)
            try comm.rootDecides { try run.writeConfig(config) }
        }
        try comm.broadcast(model.parameters, root: 0)

        let remainder = trainSet.count % config.batchSize
        out("training \(trainSet.name): \(trainSet.count) samples, global batch \(config.batchSize) over \(size) rank\(size == 1 ? "" : "s") "
            + "(\(config.batchSize / size)\(config.batchSize % size == 0 ? "" : "-\(config.batchSize / size + 1)") each), "
            + "\(sampler.stepsPerEpoch) step\(sampler.stepsPerEpoch == 1 ? "" : "s") an epoch"
            + (remainder == 0 ? "" : "; the last batch of each epoch has the remaining \(remainder) samples"))
        out("model: \(model.parameterCount) parameters; BLAS \(BLASInfo.coreName), \(BLASInfo.threads) thread\(BLASInfo.threads == 1 ? "" : "s") a rank")
        if let shard {
            out("optimizer sharded over \(size) rank\(size == 1 ? "" : "s"): Adam's moments for \(shard.range.count) of the \(model.parameterCount) parameters on rank 0, at most \(shard.largest) on any rank"
                + (sharedArenas == nil ? "" : "; gradients summed and parameters gathered in memory the ranks of this host share"))
        }
        if let lowRank {
            let full = model.parameterCount + DataParallelStep.tailCount(model: model)
            out("gradients sent as rank-\(lowRank.rank) factors with error feedback: \(lowRank.messageFloats) floats a step in two allreduces, against \(full) whole ("
                + "\(lowRank.factors.count) matrices factored)")
        }
        if resume {
            out("resuming at epoch \(position.epoch + 1), step \(position.stepInEpoch) of \(sampler.stepsPerEpoch) "
                + "(global sample \(position.samplePosition(datasetCount: trainSet.count, batch: config.batchSize)))")
        }
        return Setup(trainSet: trainSet, testSet: testSet, dataSeconds: dataSeconds, modelConfig: modelConfig, model: model,
                     optimizer: optimizer, state: state, store: store, sampler: sampler, position: position,
                     sharedArenas: sharedArenas)
    }

    /// Start-up as a user waits for it: from process start to the first finished step.
    private func reportStartup(dataSeconds: Double, metrics: MetricsLog) {
        guard comm.rank == 0 else { return }
        let sinceStart = ProcessClock.secondsSinceProcessStart()
        out(String(format: "first step done %.2f s after the process started; data took %.2f s to read, so %.2f s of set-up besides",
                   sinceStart, dataSeconds, sinceStart - dataSeconds))
        metrics.write(["kind": "startup", "seconds_to_first_step": sinceStart, "data_seconds": dataSeconds])
    }

    /// Rank 0's epoch line and metrics record.
    private func report(_ epoch: EpochReport, metrics: MetricsLog) {
        guard comm.rank == 0 else { return }
        out(epoch.line)
        metrics.write(epoch.record)
    }
}

extension TrainConfig {
    /// Whether the correlations are held at zero in `epoch`: a full posterior's before
    /// `correlationHoldEpochs`, a full-covariance mixture's before its fit, so that its VAE phase
    /// (components identical) learns an axis-aligned prior as the diagonal mixture's does and the
    /// fit sees the same kind of means.
    func holdsCorrelations(epoch: Int) -> Bool {
        model == "gmvae" ? epoch < clusterInitEpoch : epoch < correlationHoldEpochs
    }

    /// Adam's learning rate in `epoch`: a GMVAE's epochs from the mixture fit on use `mixtureLR`
    /// when it is set.
    func learningRate(epoch: Int) -> Float {
        model == "gmvae" && epoch >= clusterInitEpoch ? mixtureLR ?? lr : lr
    }

    /// Linear warm-up of the KL weight from 0 to beta over `warmupEpochs`, step by step; a GMVAE's
    /// epochs before the mixture fit use `pretrainBeta` in place of beta when it is set.
    func klWeight(epoch: Int, step: Int, stepsPerEpoch: Int) -> Float {
        let target = model == "gmvae" && epoch < clusterInitEpoch ? pretrainBeta ?? beta : beta
        guard warmupEpochs > 0 else { return target }
        let progress = (Double(epoch) + Double(step) / Double(stepsPerEpoch)) / warmupEpochs
        return target * Float(min(1, progress))
    }
}
