import ArgumentParser
import Foundation
import Linalg
import MPI
import Training
import VAE

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Training-step throughput of the benchmark model with one BLAS thread, against the sgemm peak measured in the same run.",
        discussion: """
            Alone: samples/s of the step at --batch-size, the 1-thread sgemm peak, and the ratio of the \
            step's GEMM FLOP rate to that peak; then the most that ratio could be on this machine (the \
            step's products replayed alone, and Adam alone with its arrays in cache). Under mpirun -np \
            P: also the data-parallel step at a global batch of --batch-size x P against P times rank \
            0's own single-rank throughput, the step's allreduce against a bare MPI_Allreduce of the \
            same buffer, and the most the scaling could be (every rank stepping at once with no \
            communication, plus one bare allreduce a step). Then, on rank 0, the step on real \
            Fashion-MNIST batches from the fresh state and from a trained one (--checkpoint, or \
            --warmup-steps of training first), side by side, with the subnormal floats one step of \
            each leaves in its activations and gradients; a trained state more than 15% slower is \
            flagged.
            """)

    @Option(help: "Batch per rank.") var batchSize: Int = 128
    @Option(help: "Seconds of timed single-rank steps (at most 3600).") var seconds: Double = 4
    static let maximumSeconds: Double = 3600
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "mlp (the benchmark model), conv or alexnet, on 28x28 images.") var architecture: String = "mlp"
    @Option(help: "Encoder entries replacing the architecture's (as for train).") var encoder: String?
    @Option(help: "Decoder entries replacing the architecture's (as for train).") var decoder: String?
    @Option(help: "The Gaussian posterior's covariance, diagonal or full (as for train).") var posterior: String = "diagonal"
    @Option(help: "Time the trained state from this checkpoint or run directory (its parameters, Adam state and settings).")
    var checkpoint: String?
    @Option(help: "Without --checkpoint: training steps on the real data that make the trained state.")
    var warmupSteps: Int = TrainedStateBenchmark.defaultWarmupSteps
    @Flag(help: "Measure what the scaling model needs (compute at several batches, Adam, allreduce / reduce-scatter / all-gather at several sizes on this job's transport, the step with each exchange option), check the model against the measured steps and print its predictions for 8 to 512 ranks; nothing else is run.")
    var predict = false
    @Option(help: "With --predict: per-rank batches whose compute is measured.") var predictBatches: String = "16,32,64,128,256"
    @Option(help: "With --predict: the fixed global batch of the strong-scaling table.") var globalBatch: Int = 4096
    @Option(help: "With --predict: networks to predict for, RATE:LATENCY in Gbit/s and microseconds.") var links: String = "10:25,100:5"
    @Option(help: "With --predict: the bucket size of the buckets option, MiB.") var bucketMb: Double = 1
    @OptionGroup var subnormals: SubnormalOption

    func run() throws {
        guard (1...65536).contains(batchSize) else {
            throw ConfigError("--batch-size expects a whole number from 1 to 65536, got \(batchSize)")
        }
        // Seven windows of --seconds each, twice over: an hour a window is already most of a day.
        guard seconds > 0, seconds <= Self.maximumSeconds else {
            throw ConfigError("--seconds expects a positive number of at most \(Int(Self.maximumSeconds)), got \(seconds)")
        }
        guard (0...10_000_000).contains(warmupSteps) else {
            throw ConfigError("--warmup-steps expects a whole number from 0 to 10000000, got \(warmupSteps)")
        }
        BLASInfo.setThreads(1)
        try JobStart.initializeMPI(command: "bench", stallTimeout: nil)
        let comm = Communicator.world
        if predict {
            let parts = predictBatches.split(separator: ",", omittingEmptySubsequences: false)
            let batches = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.sorted()
            guard !parts.isEmpty, batches.count == parts.count, batches.allSatisfy({ (1...4096).contains($0) }) else {
                throw ConfigError("--predict-batches expects comma-separated batches from 1 to 4096 such as 16,32,64, got \(predictBatches)")
            }
            let specs = try LinkSpec.parseList(links, flag: "links")
            guard (1...(1 << 24)).contains(globalBatch) else { throw ConfigError("--global-batch expects a whole number from 1 to \(1 << 24), got \(globalBatch)") }
            guard bucketMb.isFinite, bucketMb > 0, bucketMb <= 4096 else { throw ConfigError("--bucket-mb expects a size in MiB above 0 and at most 4096, got \(bucketMb)") }
            let measured = try ScalingMeasurement.run(comm: comm, batches: batches, stepBatch: batchSize, bucketMB: bucketMb)
            guard comm.rank == 0 else { return }
            if json {
                let bytes = try JSONSerialization.data(withJSONObject: try jsonObject(measured), options: [.sortedKeys, .prettyPrinted])
                print(String(decoding: bytes, as: UTF8.self))
            } else {
                ScalingReport.lines(measured, links: specs, globalBatch: globalBatch, batchPerRank: batchSize).forEach { print($0) }
            }
            return
        }
        var config = TrainConfig()
        config.batchSize = batchSize
        config.architecture = architecture
        config.encoder = encoder
        config.decoder = decoder
        config.posterior = posterior
        try config.validate()
        var modelConfig = architecture == "mlp" && encoder == nil && decoder == nil
            ? ModelConfig.benchmark : try config.modelConfig(inputDim: 784, sampleShape: [28, 28])
        modelConfig.posterior = posterior == ModelConfig.defaultPosterior ? nil : posterior

        // Sized before anything of that size exists, like train: the trained-state part holds the
        // data, the model with its gradients, Adam's moments and the two states it alternates
        // between, and a workspace for the batch (the other parts hold less, one after another).
        var estimate = MemoryEstimate(command: "bench", advice: "choose a smaller --batch-size or architecture, or fewer ranks a node")
        estimate.add("training data", bytes: 60_000 * 784 * 4)
        estimate.addModel(modelConfig)
        estimate.add("Adam's moments and the saved states", floats: 6 * modelConfig.parameterCount)
        estimate.add("step activations", floats: modelConfig.trainingWorkspaceFloats(rows: batchSize))
        _ = try comm.everyoneSucceeds("sizing the benchmark's memory") { try estimate.check() }

        // Bad input ends the job before anything is timed, on every rank.
        var regime: TrainedStateInput?
        try comm.rootDecides { regime = try TrainedStateInput.load(checkpoint: checkpoint) }
        let solo = try comm.split(color: comm.rank, key: 0)

        var single: StepBenchmarkResult?
        if comm.rank == 0 {
            single = StepBenchmark.run(batchSize: batchSize, seconds: seconds, repeats: 7, config: modelConfig)
        }
        try comm.barrier()
        let distributed = comm.size > 1 ? try DistributedBenchmark.run(comm: comm, config: config) : nil
        var trained: TrainedStateBenchmarkResult?
        try comm.rootDecides {
            guard let regime, let solo else { return }
            trained = try TrainedStateBenchmark.run(comm: solo, data: regime.data, dataNote: regime.note, batchSize: batchSize,
                                                    start: regime.start, model: modelConfig, warmupSteps: warmupSteps,
                                                    seconds: seconds)
        }
        guard comm.rank == 0, let single, let trained else { return }

        if json {
            var object: [String: Any] = ["single_rank": try jsonObject(single), "trained_state": try jsonObject(trained)]
            if let distributed { object["data_parallel"] = try jsonObject(distributed) }
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: bytes, as: UTF8.self))
            return
        }
        if modelConfig == ModelConfig.benchmark {
            print("benchmark model: 784-512-256-(32)/32-256-512-784, ReLU, Bernoulli, Adam; \(single.parameterCount) parameters")
        } else {
            print("model on 28x28 images, ReLU, Bernoulli, Adam; \(single.parameterCount) parameters:")
            for line in VAEModel(config: modelConfig, seed: 0).layerSummary { print("  \(line)") }
        }
        print("BLAS: \(single.blasCore), \(single.blasThreads) thread")
        print(String(format: "sgemm peak (1024^3, this run): %.1f GFLOP/s", single.peakGFLOPS))
        print(String(format: "step at batch %d: %.0f samples/s (median of %d windows)", batchSize, single.samplesPerSecond, single.repeatSamplesPerSecond.count))
        print(String(format: "GEMM work: %.2f MFLOP/sample (design figure %.2f); step GEMM rate %.1f GFLOP/s",
                     single.gemmFlopsPerSample / 1e6, single.designFlopsPerSample / 1e6, single.stepGemmGFLOPS))
        print(String(format: "time inside sgemm: %.1f%% of the step; outside it (im2col, col2im, pooling, activations, likelihood, noise, Adam): %.1f%%",
                     100 * single.gemmTimeShare, 100 * (1 - single.gemmTimeShare)))
        print(String(format: "roofline at the measured peak: %.0f samples/s; this step reaches %.3f of it (%.3f counting the design's %.2f MFLOP/sample)",
                     single.rooflineSamplesPerSecond, single.rooflineRatio, single.designRooflineRatio, single.designFlopsPerSample / 1e6))
        print(String(format: "the step's products alone, back to back: %.1f GFLOP/s = %.3f of the peak; Adam alone, in cache: %.3f ms",
                     single.productsOnlyGFLOPS, single.productsOnlyRatio, single.adamAloneMilliseconds))
        print(String(format: "  so with every other kernel free the step could reach at most %.3f of the roofline (design FLOP)",
                     single.designRatioCeiling))
        if let d = distributed {
            print(String(format: "data-parallel, %d ranks, global batch %d: %.0f samples/s = %.3f of %d x single-rank (%.0f samples/s, same code path)",
                         d.worldSize, d.batchPerRank * d.worldSize, d.parallelSamplesPerSecond, d.scalingEfficiency,
                         d.worldSize, d.singleRankSamplesPerSecond))
            print(String(format: "allreduce of %d floats: %.3f ms in the step vs %.3f ms bare (%.2fx); %.1f%% of step time",
                         d.reducedCount, d.allreduceInStepMilliseconds, d.bareAllreduceMilliseconds,
                         d.allreduceOverhead, 100 * d.allreduceShareOfStep))
            print(String(format: "  split by a barrier: %.3f ms waiting for the slowest rank + %.3f ms transfer (%.2fx the bare allreduce)",
                         d.waitForSlowestRankMilliseconds, d.allreduceTransferMilliseconds, d.transferOverBare))
            print(String(format: "every rank stepping alone at once, no communication: %.0f samples/s = %.3f of %d x single-rank (what sharing the node costs)",
                         d.independentSamplesPerSecond, d.independentEfficiency, d.worldSize))
            print(String(format: "  so with a bare-speed allreduce and no waiting the scaling could reach at most %.3f", d.scalingCeiling))
        }
        for line in trained.report { print(line) }
    }

    private func jsonObject<T: Encodable>(_ value: T) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
    }
}
