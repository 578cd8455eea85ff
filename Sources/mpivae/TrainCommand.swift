import ArgumentParser
import Foundation
import Linalg
import MPI
import Training
import VAE
import Datasets
import Explain

/// The defaults the help text quotes.
private let trainDefaults = TrainConfig()

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a VAE, data-parallel over the ranks of the job.",
        discussion: """
            --batch-size is the global batch, split across ranks: the same command follows the same \
            trajectory on any number of ranks. Flags override --config FILE, which overrides the \
            defaults; with --resume DIR the run's saved config.json is the base.
            """)

    @Option(help: "A JSON file of settings (keys as in the run's config.json).") var config: String?
    @Option(help: "Continue the run in this directory from its newest checkpoint that verifies, with its saved settings.")
    var resume: String?
    @Option(help: "fashion-mnist, mnist, a directory of IDX files, a .npy or .csv file, or synthetic[:k=3,n=10000,seed=1] (default \(trainDefaults.data)).")
    var data: String?
    @Option(help: "Run directory for config, metrics, checkpoints and explanations (default \(trainDefaults.out)).") var out: String?
    @Option(help: "(default \(trainDefaults.epochs))") var epochs: Int?
    @Option(help: "Global batch size, split across ranks (default \(trainDefaults.batchSize)).") var batchSize: Int?
    @Option(help: "Adam's learning rate (default \(trainDefaults.lr)).") var lr: Float?
    @Option(help: "Latent dimensions (default \(trainDefaults.latent)).") var latent: Int?
    @Option(help: "Encoder hidden widths (default \(trainDefaults.hidden.map(String.init).joined(separator: ","))).") var hidden: String?
    @Option(help: "Decoder hidden widths (default: the encoder's, reversed).") var decoderHidden: String?
    @Option(help: "mlp (dense layers of --hidden), conv (a small DCGAN-style pair) or alexnet (five convolutions with max pooling) (default \(trainDefaults.architecture)).")
    var architecture: String?
    @Option(help: "Encoder entries replacing the architecture's, e.g. conv:32k4s2,conv:64k4s2,dense:256 (dense:<width>, conv:<channels>k<kernel>s<stride>[p<padding>], pool:k<kernel>s<stride>[p<padding>]).")
    var encoder: String?
    @Option(help: "Decoder entries from z to the output, e.g. dense:256,convT:64k4s2,convT:32k4s2 (convT:<channels>k<kernel>s<stride>[p<padding>][o<output padding>]: a <channels>-channel image a transposed convolution enlarges).")
    var decoder: String?
    @Option(help: "relu, leaky-relu, tanh or elu (default \(trainDefaults.activation)).") var activation: String?
    @Option(help: "bernoulli (data in [0, 1]), gaussian or gaussian-learned (default \(trainDefaults.likelihood)).") var likelihood: String?
    @Option(help: "Variance of the fixed-variance Gaussian likelihood (default \(trainDefaults.gaussianVariance)).") var gaussianVariance: Float?
    @Option(help: "Weight of the KL term (default \(trainDefaults.beta)).") var beta: Float?
    @Option(help: "Epochs of linear KL warm-up from 0 to beta (default \(trainDefaults.warmupEpochs): none).") var warmupEpochs: Double?
    @Flag(inversion: .prefixedNo, help: "Dynamic binarization of the inputs (default off).") var binarize: Bool?
    @Option(help: "Decoupled (AdamW) weight decay (default \(trainDefaults.weightDecay)).") var weightDecay: Float?
    @Option(help: "Clip gradients to this global norm (default \(trainDefaults.clipNorm): off).") var clipNorm: Float?
    @Option(help: "(default \(trainDefaults.seed))") var seed: UInt64?
    @Option(help: "Model variant: vae.") var model: String?
    @Option(help: "The Gaussian posterior's covariance: diagonal, or full (a Cholesky factor per sample, correlated latent dimensions) (default \(trainDefaults.posterior)).")
    var posterior: String?
    @Option(help: "Also checkpoint every N steps (default \(trainDefaults.checkpointEvery): at epoch ends only).") var checkpointEvery: Int?
    @Option(help: "Checkpoints kept; older ones are deleted (default \(trainDefaults.keepCheckpoints)).") var keepCheckpoints: Int?
    @Option(help: "Log a progress line and a metrics record every N steps (default \(trainDefaults.logEvery)).") var logEvery: Int?
    @Option(help: "Compare replica checksums every N steps (default \(trainDefaults.replicaCheckEvery)).") var replicaCheckEvery: Int?
    @Option(help: "Stop after this many non-finite steps in a row (default \(trainDefaults.maxNonFiniteSteps)).") var maxNonfiniteSteps: Int?
    @Flag(inversion: .prefixedNo, help: "Evaluate the test split after each epoch (default on).") var eval: Bool?
    @Flag(inversion: .prefixedNo, help: "Export explanations of the test split at the end (default on).") var explain: Bool?
    @Option(help: "Importance samples for the explanation's -log p(x) estimate (default \(trainDefaults.explainIWAE)).") var explainIwae: Int?
    @Option(name: .customLong("explain-sample"), help: "A test sample the export explains one by one (repeatable; default 0, 1, 2).")
    var explainSamples: [Int] = []
    @Flag(inversion: .prefixedNo, help: "Local surrogate explanations (LIME) in the export (default on).") var explainLime: Bool?
    @Option(help: "Stop after this many steps in all; saved with the run, so pass 0 to lift it on --resume (default 0: no limit).")
    var maxSteps: Int?
    @Option(help: "Reduce gradients in buckets of this many MiB, each sent while backward goes on (default \(trainDefaults.gradBucketMB): one fused allreduce after backward).")
    var gradBucketMb: Double?
    @Option(help: "Send gradients as 16-bit floats, summed in fp32: none, bf16 or fp16 (default \(trainDefaults.gradCompression)).")
    var gradCompression: String?
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
        if let data { c.data = data }
        if let out {
            if let resume, out != resume { throw ConfigError("--out \(out) and --resume \(resume) name different run directories") }
            c.out = out
        }
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if let lr { c.lr = lr }
        if let latent { c.latent = latent }
        if let hidden { c.hidden = try Self.widths(hidden, flag: "hidden") }
        if let decoderHidden { c.decoderHidden = try Self.widths(decoderHidden, flag: "decoder-hidden") }
        if let architecture { c.architecture = architecture }
        if let encoder { c.encoder = encoder }
        if let decoder { c.decoder = decoder }
        if let activation { c.activation = activation }
        if let likelihood { c.likelihood = likelihood }
        if let gaussianVariance { c.gaussianVariance = gaussianVariance }
        if let beta { c.beta = beta }
        if let warmupEpochs { c.warmupEpochs = warmupEpochs }
        if let binarize { c.binarize = binarize }
        if let weightDecay { c.weightDecay = weightDecay }
        if let clipNorm { c.clipNorm = clipNorm }
        if let seed { c.seed = seed }
        if let model { c.model = model }
        if let posterior { c.posterior = posterior }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let keepCheckpoints { c.keepCheckpoints = keepCheckpoints }
        if let logEvery { c.logEvery = logEvery }
        if let replicaCheckEvery { c.replicaCheckEvery = replicaCheckEvery }
        if let maxNonfiniteSteps { c.maxNonFiniteSteps = maxNonfiniteSteps }
        if let eval { c.evaluateTest = eval }
        if let explain { c.explain = explain }
        if let explainIwae { c.explainIWAE = explainIwae }
        if !explainSamples.isEmpty { c.explainSamples = explainSamples }
        if let explainLime { c.explainLIME = explainLime }
        if let maxSteps { c.maxSteps = maxSteps }
        if let gradBucketMb { c.gradBucketMB = gradBucketMb }
        if let gradCompression { c.gradCompression = gradCompression }
        try c.validate()
        return c
    }

    static func widths(_ text: String, flag: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 > 0 }) else {
            throw ConfigError("--\(flag) expects comma-separated positive widths such as 512,256, got \(text)")
        }
        return values
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
            print(ErrorReporting.oneLine(line))
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
            try ExplainRun.agreed {
                _ = try ExplainExport.run(model: summary.model, dataset: testSet, trainSet: summary.trainSet, options: options,
                                          communicator: comm, checkpointInfo: info,
                                          log: { if comm.rank == 0 { print(ErrorReporting.oneLine($0)); fflush(stdout) } })
            }
            if comm.rank == 0 { print("explanations: \(options.outDir)/report.html") }
        }
    }
}
