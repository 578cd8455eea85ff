import ArgumentParser
import Datasets
import Explain
import Foundation
import MPI
import Training
import VAE

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Export explanations of a checkpoint's latent space: arrays, summaries, pictures and report.html.",
        discussion: "Under mpirun each rank encodes its share of the data; rank 0 gathers and writes.")

    @Option(help: "A checkpoint written by mpivae train, or a run directory (its newest checkpoint).") var checkpoint: String
    @OptionGroup var blas: BLASThreadsOption
    @OptionGroup var stall: StallTimeoutOption
    @Option(help: "fashion-mnist, a directory of IDX files, a .npy or .csv file, or synthetic.") var data: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "train or test: the split to explain.") var split: String = "test"
    @Option(name: .customLong("sample"), help: "Explain this sample in detail (repeatable; default none).") var samples: [Int] = []
    @Option(help: "Importance samples for the IWAE estimate of -log p(x).") var iwae: Int = 100
    @Option(help: "Seed of the explanation's noise.") var seed: UInt64 = 0
    @Flag(help: "Skip the nearest neighbours from the training split (saves encoding it).") var noNeighbours = false

    func run() throws {
        guard (1...TrainConfig.maximumIWAE).contains(iwae) else {
            throw ConfigError("--iwae expects a whole number from 1 to \(TrainConfig.maximumIWAE), got \(iwae)")
        }
        let which = try CheckpointJob.split(split)
        let job = try CheckpointJob(command: "explain", checkpoint: checkpoint, blas: blas, stall: stall,
                                    options: "--iwae \(iwae) --sample \(samples) --seed \(seed) --out \(out)") {
            [("data", try DataSource.load(data, split: which)),
             ("training data", noNeighbours || which == .train ? nil : try DataSource.load(data, split: .train))]
        }
        let (comm, model, metadata, dataset, trainSet) = (job.comm, job.model, job.metadata, job.data, job.others[0])
        var options = ExplainOptions(outDir: out)
        options.iwaeK = iwae
        options.samples = samples
        options.seed = seed
        var info = ["checkpoint": checkpoint, "seed": String(seed)]
        if let crc = metadata["data_crc32"] { info["checkpoint_checksum"] = "crc32:" + crc }
        try ExplainRun.agreed {
            _ = try ExplainExport.run(model: model, dataset: dataset, trainSet: trainSet, options: options, communicator: comm,
                                      checkpointInfo: info, log: { if comm.rank == 0 { print($0); fflush(stdout) } })
        }
        if comm.rank == 0 { print("explanations: \(out)/report.html") }
    }
}

enum ExplainRun {
    /// The export throws the same error on every rank (its checks run everywhere on agreed
    /// inputs, and rank 0 shares how writing went), so its errors end the job in order rather
    /// than by MPI_Abort. A failed MPI call is the exception: it may be this rank's alone.
    static func agreed(_ body: () throws -> Void) throws {
        do { try body() } catch let error as MPIError { throw error } catch { throw AgreedError("\(error)") }
    }
}
