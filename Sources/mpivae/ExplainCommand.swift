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
    @OptionGroup var subnormals: SubnormalOption
    @OptionGroup var stall: StallTimeoutOption
    @Option(help: "fashion-mnist, a directory of IDX files, a .npy or .csv file, or synthetic.") var data: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "train or test: the split to explain.") var split: String = "test"
    @Option(name: .customLong("sample"), help: "Explain this sample in detail (repeatable; default none).") var samples: [Int] = []
    @Option(help: "Importance samples for the IWAE estimate of -log p(x).") var iwae: Int = 100
    @Option(help: "Seed of the explanation's noise.") var seed: UInt64 = 0
    @Flag(help: "Skip the nearest neighbours from the training split (saves encoding it).") var noNeighbours = false
    @Flag(help: "Add local surrogate explanations (LIME) of the posterior for the explained samples.") var lime = false
    @Option(help: "LIME: perturbations per explained sample (at least the number of segments).") var limeSamples: Int = 1000
    @Option(help: "LIME: segments, grid:N (N x N pixel cells) or slic:N (about N SLIC superpixels); tables use one per column.")
    var limeSegments: String = "grid:4"
    @Option(help: "LIME: width of the kernel exp(-d^2/w^2) on the cosine distance d of a mask to the sample's.")
    var limeKernelWidth: Double = 0.25
    @Option(help: "LIME: what a switched-off segment becomes: mean, blur[:SIGMA] or constant:V.") var limeBaseline: String = "mean"
    @Option(help: "LIME: how many samples to explain (the --sample ones first, then one of each class, then the first).")
    var limeExplained: Int = 16

    @Option(help: "Bayesian models: also explain the model's own uncertainty from this many weight samples, into OUT/uncertainty and the report (0: off).")
    var weightSamples: Int = 0

    func run() throws {
        guard (0...4096).contains(weightSamples) else {
            throw ConfigError("--weight-samples expects a whole number from 0 to 4096, got \(weightSamples)")
        }
        guard (1...TrainConfig.maximumIWAE).contains(iwae) else {
            throw ConfigError("--iwae expects a whole number from 1 to \(TrainConfig.maximumIWAE), got \(iwae)")
        }
        let which = try CheckpointJob.split(split)
        // Checked before MPI starts, alike on every rank: as a ConfigError rank 0 alone reports it.
        let limeSettings: LIMESettings?
        do {
            limeSettings = try lime ? ExplainCommand.limeSettings(samples: limeSamples, segments: limeSegments, kernelWidth: limeKernelWidth,
                                                                 baseline: limeBaseline, explained: limeExplained) : nil
        } catch let error as ExplainError { throw ConfigError(error.description) }
        try InputKinds.check("--data", data)
        let job = try CheckpointJob(command: "explain", checkpoint: checkpoint, blas: blas, stall: stall,
                                    options: "--iwae \(iwae) --sample \(samples) --seed \(seed) --out \(out)",
                                    budget: { estimate, config, sets in
                                        estimate.addExport(config, count: sets.first?.count ?? 0, neighbours: sets.dropFirst().first?.count ?? 0)
                                    }) {
            [("data", try DataSource.load(data, split: which)),
             ("training data", noNeighbours || which == .train ? nil : try DataSource.load(data, split: .train))]
        }
        let (comm, model, metadata, dataset, trainSet) = (job.comm, job.model, job.metadata, job.data, job.others[0])
        var options = ExplainOptions(outDir: out)
        options.iwaeK = iwae
        options.samples = samples
        options.seed = seed
        options.runMetricsPath = RunDirectory.containing(checkpoint: checkpoint)?.metricsPath
        options.lime = limeSettings
        options.factorTruth = try DataSource.factorTruth(data, split: which)
        var info = ["checkpoint": checkpoint, "seed": String(seed)]
        if let crc = metadata["data_crc32"] { info["checkpoint_checksum"] = "crc32:" + crc }
        // The weight samples are measured first, so that the export's report and per-sample
        // entries include the model's own uncertainty.
        var measured: EpistemicReport.Measured?
        if weightSamples > 0 {
            guard model.weightKL != nil else {
                throw AgreedError("--weight-samples \(weightSamples): \(checkpoint) has no Bayesian layers")
            }
            let report = EpistemicReport(checkpoint: checkpoint, data: data, split: split, weightSamples: weightSamples,
                                         iwae: 0, seed: seed, heldOutClass: nil, uncertaintyOut: nil, json: false)
            measured = try report.measure(comm: comm, model: model, dataset: dataset,
                                          trainingCount: Int(metadata["dataset_count"] ?? "") ?? 0,
                                          excludedClass: EpistemicReport.excludedClass(metadata),
                                          shown: EpistemicReport.shown(count: dataset.count, explained: samples))
            options.epistemic = measured?.export
        }
        try ExplainRun.agreed {
            _ = try ExplainExport.run(model: model, dataset: dataset, trainSet: trainSet, options: options, communicator: comm,
                                      checkpointInfo: info, log: { if comm.rank == 0 { print($0); fflush(stdout) } })
        }
        if comm.rank == 0 {
            if let measured {
                for line in EpistemicReport.lines(measured, data: data, split: split, weightSamples: weightSamples, iwae: 0) { print(line) }
            }
            print("explanations: \(out)/report.html")
        }
    }
}

extension ExplainCommand {
    /// The `--lime-*` flags as settings, each malformed one refused with one line naming it.
    static func limeSettings(samples: Int, segments: String, kernelWidth: Double, baseline: String, explained: Int) throws -> LIMESettings {
        var s = LIMESettings()
        s.perturbations = samples
        s.segments = try SegmentationMethod.parse(segments)
        s.kernelWidth = kernelWidth
        s.baseline = try LIMEBaseline.parse(baseline)
        guard explained >= 1 else { throw ExplainError("--lime-explained: expected at least 1 sample to explain, found \(explained)") }
        s.explainedSamples = explained
        return s
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
