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
            communication, plus one bare allreduce a step).
            """)

    @Option(help: "Batch per rank.") var batchSize: Int = 128
    @Option(help: "Seconds of timed single-rank steps.") var seconds: Double = 4
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard (1...65536).contains(batchSize) else {
            throw ConfigError("--batch-size expects a whole number from 1 to 65536, got \(batchSize)")
        }
        guard seconds > 0, seconds.isFinite else { throw ConfigError("--seconds expects a positive number, got \(seconds)") }
        BLASInfo.setThreads(1)
        try JobStart.initializeMPI(command: "bench", stallTimeout: nil)
        let comm = Communicator.world
        var config = TrainConfig()
        config.batchSize = batchSize

        var single: StepBenchmarkResult?
        if comm.rank == 0 {
            single = StepBenchmark.run(batchSize: batchSize, seconds: seconds, repeats: 7)
        }
        try comm.barrier()
        let distributed = comm.size > 1 ? try DistributedBenchmark.run(comm: comm, config: config) : nil
        guard comm.rank == 0, let single else { return }

        if json {
            var object: [String: Any] = ["single_rank": try jsonObject(single)]
            if let distributed { object["data_parallel"] = try jsonObject(distributed) }
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: bytes, as: UTF8.self))
            return
        }
        print("benchmark model: 784-512-256-(32)/32-256-512-784, ReLU, Bernoulli, Adam; \(single.parameterCount) parameters")
        print("BLAS: \(single.blasCore), \(single.blasThreads) thread")
        print(String(format: "sgemm peak (1024^3, this run): %.1f GFLOP/s", single.peakGFLOPS))
        print(String(format: "step at batch %d: %.0f samples/s (median of %d windows)", batchSize, single.samplesPerSecond, single.repeatSamplesPerSecond.count))
        print(String(format: "GEMM work: %.2f MFLOP/sample (design figure %.2f); step GEMM rate %.1f GFLOP/s",
                     single.gemmFlopsPerSample / 1e6, single.designFlopsPerSample / 1e6, single.stepGemmGFLOPS))
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
                         d.parameterCount + VAEModel.gradientTailCount, d.allreduceInStepMilliseconds, d.bareAllreduceMilliseconds,
                         d.allreduceOverhead, 100 * d.allreduceShareOfStep))
            print(String(format: "  split by a barrier: %.3f ms waiting for the slowest rank + %.3f ms transfer (%.2fx the bare allreduce)",
                         d.waitForSlowestRankMilliseconds, d.allreduceTransferMilliseconds, d.transferOverBare))
            print(String(format: "every rank stepping alone at once, no communication: %.0f samples/s = %.3f of %d x single-rank (what sharing the node costs)",
                         d.independentSamplesPerSecond, d.independentEfficiency, d.worldSize))
            print(String(format: "  so with a bare-speed allreduce and no waiting the scaling could reach at most %.3f", d.scalingCeiling))
        }
    }

    private func jsonObject<T: Encodable>(_ value: T) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
    }
}
