import ArgumentParser
import Foundation
import Linalg
import MPI
import Training
import VAE
import Datasets
import Explain

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a VAE, data-parallel over the ranks of the job.",
        discussion: """
            --batch-size is the global batch, split across ranks: the same command follows the same \
            trajectory on any number of ranks. Flags override --config FILE, which overrides the \
            defaults; with --resume DIR the run's saved config.json is the base.

            SETTINGS (each also a key of --config files and of the run's config.json):
            \(TrainSettings.helpText)
            """)

    @Option(help: "A JSON file of settings (keys as in the run's config.json).") var config: String?
    @Option(help: "Continue the run in this directory from its newest checkpoint that verifies, with its saved settings.")
    var resume: String?
    // Every training setting is declared once, in TrainSettings, which parses, checks and lists
    // them (see the discussion above); this collects them as given.
    @Argument(parsing: .allUnrecognized, help: .hidden) var settings: [String] = []
    @OptionGroup var blas: BLASThreadsOption
    @OptionGroup var subnormals: SubnormalOption
    @OptionGroup var stall: StallTimeoutOption

    /// Flags over `--config` over the defaults; with `--resume`, over the run's saved settings,
    /// which rank 0 reads and shares (so `comm` is needed then).
    func resolvedConfig(comm: Communicator?) throws -> TrainConfig {
        var c = TrainConfig()
        if let resume, let comm {
            c = try RunDirectory(path: resume).readConfig(comm: comm)
            c.out = resume
        }
        if let config {
            if let resume { throw ConfigError("--config \(config) and --resume \(resume) both give the base settings; the run directory keeps its config, so pass only --resume") }
            c = try TrainConfig.load(path: config)
        }
        let given = try SettingArguments(settings)
        if let resume, given.contains(flag: "out") {
            var probe = c
            try given.apply(to: &probe)
            if probe.out != resume { throw ConfigError("--out \(probe.out) and --resume \(resume) name different run directories") }
        }
        try given.apply(to: &c)
        try c.validate()
        return c
    }

    func run() throws {
        // From the start: a signal while the data loads or MPI starts takes the same path as one
        // during training (the first step is finished and saved), instead of killing the process.
        StopSignals.install()
        try blas.apply()
        let stallTimeout = try stall.seconds()
        let config: TrainConfig
        if resume != nil {
            try JobStart.initializeMPI(command: "train", stallTimeout: stallTimeout)
            // Settings are resolved identically on every rank: their errors are every rank's.
            do { config = try resolvedConfig(comm: Communicator.world) } catch let e as ConfigError { throw AgreedError("\(e)") }
        } else {
            config = try resolvedConfig(comm: nil)
            try InputKinds.check("--data", config.data)
            try JobStart.initializeMPI(command: "train", stallTimeout: stallTimeout)
        }
        let comm = Communicator.world
        let trainer = try Trainer(config: config, communicator: comm, resume: resume != nil) { line in
            print(oneLine(line))
            fflush(stdout)
        }
        if blas.blasThreads != nil { trainer.explicitArithmetic.insert("blas_threads") }
        let summary = try trainer.train()
        if config.explain && !summary.stoppedBySignal, let testSet = summary.testSet {
            var options = ExplainOptions(outDir: RunDirectory(path: config.out).explainPath)
            options.iwaeK = config.explainIWAE
            options.seed = config.seed
            options.runMetricsPath = RunDirectory(path: config.out).metricsPath
            options.samples = config.explainSamples.filter { $0 < testSet.count }
            if config.explainLIME {
                // The defaults suit images up to about 128x128 and tables up to 1,000 columns; for
                // other data the export goes on without LIME rather than fail after training.
                do {
                    try LIMESettings().check(for: testSet)
                    options.lime = LIMESettings()
                } catch {
                    if comm.rank == 0 { print("warning: LIME skipped in the export (\(error)); run mpivae explain --lime with settings that fit this data") }
                }
            }
            options.factorTruth = try DataSource.factorTruth(config.data, split: .test)
            let dropped = config.explainSamples.filter { $0 >= testSet.count }
            if comm.rank == 0, !dropped.isEmpty {
                print("warning: --explain-sample \(dropped.map(String.init).joined(separator: ", ")): the test split has only \(testSet.count) samples; skipped")
            }
            var info = ["seed": String(config.seed)]
            if let saved = summary.lastCheckpoint {
                info["checkpoint"] = saved.path
                info["checkpoint_checksum"] = "crc32:" + String(format: "%08x", saved.dataCRC32)
            }
            StallWatchdog.phase = "the explanation export"
            StallWatchdog.step = -1
            // A Bayesian model's own uncertainty, measured over the test split before the export
            // so that its report and per-sample entries show it.
            var measured: EpistemicReport.Measured?
            if summary.model.weightKL != nil && config.explainWeightSamples > 0 {
                let report = EpistemicReport(checkpoint: summary.lastCheckpoint?.path ?? config.out, data: config.data, split: "test",
                                             weightSamples: config.explainWeightSamples, iwae: 0, seed: config.seed,
                                             heldOutClass: nil, uncertaintyOut: nil, json: false)
                measured = try report.measure(comm: comm, model: summary.model, dataset: testSet,
                                              trainingCount: summary.trainSet.count, excludedClass: config.excludeClass,
                                              shown: EpistemicReport.shown(count: testSet.count, explained: options.samples))
                options.epistemic = measured?.export
            }
            try ExplainRun.agreed {
                _ = try ExplainExport.run(model: summary.model, dataset: testSet, trainSet: summary.trainSet, options: options,
                                          communicator: comm, checkpointInfo: info,
                                          log: { if comm.rank == 0 { print(oneLine($0)); fflush(stdout) } })
            }
            if comm.rank == 0 {
                if let measured {
                    for line in EpistemicReport.lines(measured, data: config.data, split: "test",
                                                      weightSamples: config.explainWeightSamples, iwae: 0) { print(oneLine(line)) }
                }
                print("explanations: \(options.outDir)/report.html")
            }
        }
    }
}
