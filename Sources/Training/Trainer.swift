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

    /// `out` receives rank 0's report lines (epoch lines, notices); other ranks stay silent.
    public init(config: TrainConfig, communicator: Communicator, resume: Bool, out: @escaping (String) -> Void) throws {
        try config.validate()
        self.config = config
        self.comm = communicator
        self.run = RunDirectory(path: config.out)
        self.resume = resume
        self.out = communicator.rank == 0 ? out : { _ in }
    }

    public func train() throws -> TrainSummary {
        let rank = comm.rank, size = comm.size

        // Start-up: everyone loads the data; a rank that cannot ends the job for all.
        let dataStart = monotonicSeconds()
        let (trainSet, testSet) = try comm.everyoneSucceeds("loading the data") {
            (try DataSource.load(config.data, split: .train),
             config.evaluateTest || config.explain ? try DataSource.load(config.data, split: .test) : nil)
        }
        let dataSeconds = monotonicSeconds() - dataStart
        let modelConfig = try config.modelConfig(inputDim: trainSet.dimension)
        let model = VAEModel(config: modelConfig, seed: config.seed)

        try StartupAgreement(fields: [
            ("configuration", config.canonicalJSON()),
            ("training data", "\(trainSet.name): \(trainSet.count) samples of \(trainSet.sampleShape), fingerprint \(trainSet.fingerprint)"),
            ("parameter count", "\(model.parameterCount)"),
        ]).check(on: comm)

        try comm.rootDecides {
            if resume {
                guard run.holdsRun else { throw ConfigError("--resume \(run.path): not a run directory (no config.json or checkpoints/)") }
            } else if run.holdsRun {
                throw ConfigError("--out \(run.path) already holds a run; continue it with --resume \(run.path) or choose another --out")
            }
            try run.create()
            try run.writeConfig(config)
        }

        let optimizer = Adam(count: model.parameterCount, lr: config.lr, weightDecay: config.weightDecay)
        let state = TrainingState(model: model, optimizer: optimizer)
        let store = CheckpointStore(runDirectory: run.path, keepLast: config.keepCheckpoints)

        // Rank 0's parameters (or its checkpoint) become everyone's: replicas start identical.
        var position = TrainingPosition()
        if resume {
            position = try state.restoreNewest(from: store, comm: comm, modelConfig: modelConfig, config: config, log: out)
        }
        try comm.broadcast(model.parameters, root: 0)

        // Same data and settings on every rank (checked above), so every rank throws alike here.
        do {
            try ShardedSampler.check(datasetCount: trainSet.count, globalBatch: config.batchSize, worldSize: size, rank: rank)
        } catch { throw AgreedError("\(error)") }
        let sampler = ShardedSampler(datasetCount: trainSet.count, globalBatch: config.batchSize,
                                     worldSize: size, rank: rank, seed: config.seed)
        let stepsPerEpoch = sampler.stepsPerEpoch
        let remainder = trainSet.count % config.batchSize
        if rank == 0 {
            out("training \(trainSet.name): \(trainSet.count) samples, global batch \(config.batchSize) over \(size) rank\(size == 1 ? "" : "s") "
                + "(\(config.batchSize / size)\(config.batchSize % size == 0 ? "" : "-\(config.batchSize / size + 1)") each), "
                + "\(stepsPerEpoch) steps an epoch"
                + (remainder == 0 ? "" : "; the last batch of each epoch has the remaining \(remainder) samples"))
            out("model: \(model.parameterCount) parameters; BLAS \(BLASInfo.coreName), \(BLASInfo.threads) thread\(BLASInfo.threads == 1 ? "" : "s") a rank")
            if resume { out("resuming at epoch \(position.epoch + 1), step \(position.stepInEpoch) of \(stepsPerEpoch) (global sample \(position.samplePosition(datasetCount: trainSet.count, batch: config.batchSize)))") }
        }

        let metrics = try MetricsLog(path: rank == 0 ? run.metricsPath : nil)
        let progress = ProgressReporter(enabled: rank == 0, logEvery: config.logEvery, stepsPerEpoch: stepsPerEpoch, out: out)
        let step = try DataParallelStep(model: model, optimizer: optimizer, trainSet: trainSet, sampler: sampler,
                                        config: config, comm: comm)
        let evaluation = testSet.map { DistributedEvaluation(model: model, dataset: $0, comm: comm, seed: config.seed) }
        let stop = StopRequest.install()

        var summary = TrainSummary(steps: position.globalStep, epochsCompleted: position.epoch, samplesPerSecond: 0,
                                   stoppedBySignal: false, model: model, trainSet: trainSet, testSet: testSet)
        var nonFiniteRun = 0
        var reportedStartup = false
        var epoch = position.epoch
        var jobSamples = 0, jobSeconds = 0.0

        epochLoop: while epoch < config.epochs {
            let permutation = sampler.permutation(epoch: epoch)
            var epochRecon = 0.0, epochKL = 0.0, epochRows = 0
            var reduceSeconds = 0.0, stepSeconds = 0.0
            let first = epoch == position.epoch ? position.stepInEpoch : 0
            progress.beginEpoch(epoch)

            for s in first..<stepsPerEpoch {
                let klWeight = config.klWeight(epoch: epoch, step: s, stepsPerEpoch: stepsPerEpoch)
                let t0 = monotonicSeconds()
                let result = try step.run(epoch: epoch, step: s, permutation: permutation, klWeight: klWeight,
                                          stopRequested: stop.requested)
                let t1 = monotonicSeconds()
                stepSeconds += t1 - t0
                reduceSeconds += result.reduceSeconds
                summary.steps += 1
                if rank == 0, !reportedStartup {
                    reportedStartup = true
                    let sinceStart = ProcessClock.secondsSinceProcessStart()
                    out(String(format: "first step done %.2f s after the process started; data took %.2f s to read, so %.2f s of set-up besides",
                               sinceStart, dataSeconds, sinceStart - dataSeconds))
                    metrics.write(["kind": "startup", "seconds_to_first_step": sinceStart, "data_seconds": dataSeconds])
                }

                if result.finite {
                    nonFiniteRun = 0
                    epochRecon += result.recon
                    epochKL += result.kl
                    epochRows += result.rows
                } else {
                    nonFiniteRun += 1
                    out("warning: step \(summary.steps) (epoch \(epoch + 1), step \(s + 1)) had a non-finite loss or gradient; skipped (\(nonFiniteRun) in a row)")
                    if nonFiniteRun >= config.maxNonFiniteSteps {
                        let kept = state.lastSaved.map { "the last good checkpoint, \($0.path), is kept" }
                            ?? (resume ? "the checkpoint it resumed from is kept" : "no checkpoint had been written yet")
                        throw AgreedError("stopped after \(nonFiniteRun) non-finite steps in a row at step \(summary.steps); \(kept) (try a lower --lr or --clip-norm)")
                    }
                }

                if summary.steps % config.replicaCheckEvery == 0 {
                    try ReplicaCheck.verify(model.parameters, optimizer: optimizer, comm: comm, step: summary.steps)
                }
                progress.step(s, recon: result.recon, kl: result.kl, rows: result.rows)
                if rank == 0, summary.steps % config.logEvery == 0, result.finite, result.rows > 0 {
                    metrics.write(["kind": "step", "step": summary.steps, "epoch": epoch + 1,
                                   "neg_elbo": (result.recon + result.kl) / Double(result.rows),
                                   "recon": result.recon / Double(result.rows), "kl": result.kl / Double(result.rows),
                                   "kl_weight": Double(klWeight)])
                }

                let next = TrainingPosition(epoch: s + 1 == stepsPerEpoch ? epoch + 1 : epoch,
                                            stepInEpoch: s + 1 == stepsPerEpoch ? 0 : s + 1,
                                            globalStep: summary.steps)
                let atLimit = config.maxSteps > 0 && summary.steps >= config.maxSteps
                if result.stopRequested || atLimit {
                    try state.save(to: store, position: next, comm: comm, config: config, modelConfig: modelConfig,
                                   datasetCount: trainSet.count, log: out)
                    summary.stoppedBySignal = result.stopRequested
                    if result.stopRequested { out("stopping on a signal; state saved at step \(summary.steps)") }
                    jobSamples += epochRows; jobSeconds += stepSeconds
                    break epochLoop
                }
                if config.checkpointEvery > 0, summary.steps % config.checkpointEvery == 0, s + 1 < stepsPerEpoch {
                    try state.save(to: store, position: next, comm: comm, config: config, modelConfig: modelConfig,
                                   datasetCount: trainSet.count, log: out)
                }
            }
            progress.endEpoch()

            let trainLoss = epochRows > 0 ? (epochRecon + epochKL) / Double(epochRows) : .nan
            var record: [String: Any] = ["kind": "epoch", "epoch": epoch + 1, "step": summary.steps,
                                         "train_neg_elbo": trainLoss, "train_recon": epochRecon / Double(max(epochRows, 1)),
                                         "train_kl": epochKL / Double(max(epochRows, 1)),
                                         "samples_per_second": Double(epochRows) / max(stepSeconds, 1e-9),
                                         "allreduce_share": reduceSeconds / max(stepSeconds, 1e-9),
                                         "epoch_seconds": stepSeconds, "world_size": size]
            var line = String(format: "epoch %d/%d  train -ELBO %.2f", epoch + 1, config.epochs, trainLoss)
            if let evaluation {
                let e = try evaluation.run()
                record["test_neg_elbo"] = e.negELBO; record["test_recon"] = e.recon; record["test_kl"] = e.kl
                line += String(format: "  test -ELBO %.2f (recon %.2f, KL %.2f)", e.negELBO, e.recon, e.kl)
                summary.lastTestNegELBO = e.negELBO
            }
            line += String(format: "  %.0f samples/s  allreduce %.1f%% of step time",
                           Double(epochRows) / max(stepSeconds, 1e-9), 100 * reduceSeconds / max(stepSeconds, 1e-9))
            out(line)
            if rank == 0 { metrics.write(record) }
            summary.lastTrainNegELBO = trainLoss
            jobSamples += epochRows; jobSeconds += stepSeconds

            epoch += 1
            summary.epochsCompleted = epoch
            try state.save(to: store, position: TrainingPosition(epoch: epoch, stepInEpoch: 0, globalStep: summary.steps),
                           comm: comm, config: config, modelConfig: modelConfig, datasetCount: trainSet.count, log: out)
            if rank == 0, let saved = state.lastSaved {
                metrics.write(["kind": "checkpoint", "epoch": epoch, "step": summary.steps, "path": saved.path,
                               "seconds": saved.seconds, "share_of_epoch": saved.seconds / max(stepSeconds, 1e-9)])
            }
        }

        try ReplicaCheck.verify(model.parameters, optimizer: optimizer, comm: comm, step: summary.steps)
        summary.lastCheckpoint = state.lastSaved.map { ($0.path, $0.dataCRC32) }
        summary.samplesPerSecond = Double(jobSamples) / max(jobSeconds, 1e-9)
        return summary
    }
}

extension TrainConfig {
    /// Linear warm-up of the KL weight from 0 to beta over `warmupEpochs`, step by step.
    func klWeight(epoch: Int, step: Int, stepsPerEpoch: Int) -> Float {
        guard warmupEpochs > 0 else { return beta }
        let progress = (Double(epoch) + Double(step) / Double(stepsPerEpoch)) / warmupEpochs
        return beta * Float(min(1, progress))
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
