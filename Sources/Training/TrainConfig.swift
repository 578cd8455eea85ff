import Foundation
import Linalg
import SafeTensors
import SystemMemory
import VAE

/// Everything that decides a training run. Flags and `--config FILE` fill the same struct; the run
/// directory keeps the resolved copy as `config.json`, and `--resume` starts from it.
public struct TrainConfig: Codable, Equatable, Sendable {
    public var data = "fashion-mnist"
    public var out = "runs/fashion-mnist"
    public var epochs = 10
    /// The global batch: split across ranks, so the trajectory does not depend on the rank count.
    public var batchSize = 128
    public var lr: Float = 1e-3
    public var latent = 32
    public var hidden = [512, 256]
    /// Decoder widths; nil mirrors `hidden`.
    public var decoderHidden: [Int]?
    public var activation = "relu"
    /// mlp (the dense layers of hidden / decoderHidden), conv or alexnet; encoder and decoder,
    /// when given, replace the preset's entries (e.g. "conv:32k4s2,conv:64k4s2,dense:256").
    public var architecture = "mlp"
    public var encoder: String?
    public var decoder: String?
    /// bernoulli | gaussian (fixed variance) | gaussian-learned
    public var likelihood = "bernoulli"
    public var gaussianVariance: Float = 1
    public var beta: Float = 1
    /// Linear KL warm-up from 0 to beta over this many epochs (0: none).
    public var warmupEpochs: Double = 0
    public var binarize = false
    public var weightDecay: Float = 0
    /// Clip gradients to this global norm (0: no clipping).
    public var clipNorm: Float = 0
    public var seed: UInt64 = 0
    /// vae, or gmvae: a Gaussian-mixture prior of `clusters` components (see `GaussianMixture`).
    public var model = "vae"
    public var clusters = 10
    /// gmvae: at the start of this epoch the mixture is fitted to the encoder's means of the
    /// training set (`MixtureFit`); until then its components are one and the model a VAE.
    public var clusterInitEpoch = 10
    /// gmvae: weight of KL(batch mean of q(y|x) ‖ uniform), summed over the batch's rows.
    public var clusterBalance: Float = 1
    /// gmvae: the KL weight before `clusterInitEpoch` (nil: `beta`). A lower weight in the VAE
    /// phase gives more autoencoder-like means, which k-means and EM separate better; the
    /// mixture phase then trains at `beta`.
    public var pretrainBeta: Float?
    /// gmvae: Adam's learning rate from `clusterInitEpoch` on (nil: `lr`). There to test whether a
    /// smaller step keeps the fitted assignment from drifting over the mixture epochs; on
    /// Fashion-MNIST 3e-4 did not help (README, GMVAE section), so the recipe leaves it unset.
    public var mixtureLR: Float?
    /// gmvae: the covariance of the mixture's components p(z|y), diagonal or full.
    public var priorCovariance = "diagonal"
    /// The Gaussian posterior's covariance: diagonal, or full (a Cholesky factor per sample).
    public var posterior = "diagonal"
    /// Full posterior: U (the correlations) is held at zero through the steps of the first this
    /// many epochs, then trained; until then the run is the diagonal model's step for step.
    public var correlationHoldEpochs = 2
    /// A checkpoint every N steps besides the one at each epoch end (0: epoch ends only).
    public var checkpointEvery = 0
    public var keepCheckpoints = 3
    public var logEvery = 50
    /// Parameter checksums compared across ranks every N steps and at the end.
    public var replicaCheckEvery = 200
    /// Stop after this many consecutive steps with a non-finite loss or gradient.
    public var maxNonFiniteSteps = 20
    /// Evaluate the test split at each epoch end.
    public var evaluateTest = true
    /// Run the explanation export on the test split when training ends.
    public var explain = true
    public var explainIWAE = 100
    /// Test samples the end-of-training export explains one by one.
    public var explainSamples = [0, 1, 2]
    /// Local surrogate explanations (LIME) in the export, with their default settings.
    public var explainLIME = true
    /// Weight samples the export of a Bayesian model measures its own uncertainty with (0: none).
    public var explainWeightSamples = 16
    /// Stop after this many steps in total (0: no limit); for tests and benchmarks.
    public var maxSteps = 0
    /// Gradients are reduced in buckets of this many MiB, each started as soon as the backward
    /// pass has produced it (last layer first) so the transfer overlaps the rest of backward;
    /// 0 keeps one fused allreduce after backward.
    public var gradBucketMB: Double = 0
    /// Gradients travel as 16-bit floats ("bf16", or "fp16" with a scale against overflow),
    /// summed in fp32; "none" sends fp32. The loss sums always travel in fp32.
    public var gradCompression = "none"
    /// Gradients travel as rank-R factors with error feedback (PowerSGD, `LowRankExchange`); 0: off.
    public var gradLowRank = 0
    /// Every layer Bayesian (Bayes by Backprop); `bdense` / `bconv` / `bconvT` entries make
    /// single layers so without it.
    public var bayesianWeights = false
    /// The weight prior's standard deviation and the rho every weight starts at.
    public var priorSigma: Float = BayesianWeights.defaultPriorSigma
    public var rhoInit: Float = BayesianWeights.defaultRhoInit
    /// A label left out of the training split (the test split keeps it).
    public var excludeClass: Int?
    /// ZeRO stage 1: gradients reduce-scattered, each rank's Adam updates (and holds the moments
    /// of) its own slice of the parameters, which are then all-gathered. Checkpoints stay whole.
    public var shardOptimizer = false

    public init() {}

    /// Bounds that keep sizes computed from these settings far from overflow.
    public static let maximumBatchSize = 1 << 24
    public static let maximumIWAE = 1_000_000

    public static let supportedModels = ["vae", "gmvae"]
    public static let supportedGradCompressions = ["none", "bf16", "fp16"]
    public static let supportedLikelihoods = ["bernoulli", "gaussian", "gaussian-learned"]
    public static let supportedActivations = ["relu", "leaky-relu", "tanh", "elu"]

    /// Rejects values no run could use, naming the flag, what it takes and what it got (each
    /// setting's rule is declared in `TrainSettings`). With `source`, the values come from that
    /// settings file, and errors name its keys.
    public func validate(source: String? = nil) throws {
        for setting in TrainSettings.all where !(try setting.accepts(self)) {
            throw setting.refusal(self, source: source)
        }
        // The sharded step's reduce-scatter replaces the allreduce that buckets and compression shape.
        if shardOptimizer, gradBucketMB > 0 || gradCompression != "none" {
            let other = gradBucketMB > 0 ? ("grad-bucket-mb", "gradBucketMB", "\(gradBucketMB)") : ("grad-compression", "gradCompression", gradCompression)
            guard let source else {
                throw ConfigError("--shard-optimizer expects the fused fp32 exchange beside it (no --grad-bucket-mb, --grad-compression none), got --\(other.0) \(other.2)")
            }
            throw ConfigError("\(source): key \"shardOptimizer\" expects the fused fp32 exchange beside it (no gradBucketMB, gradCompression none), got \"\(other.1)\": \(other.2)")
        }
        // The factors replace the allreduce that buckets, 16-bit sends and the sharded step shape.
        if gradLowRank > 0, shardOptimizer || gradBucketMB > 0 || gradCompression != "none" {
            let other = shardOptimizer ? ("shard-optimizer", "shardOptimizer", "true")
                : gradBucketMB > 0 ? ("grad-bucket-mb", "gradBucketMB", "\(gradBucketMB)") : ("grad-compression", "gradCompression", gradCompression)
            guard let source else {
                throw ConfigError("--grad-low-rank expects the fused fp32 exchange beside it (no --shard-optimizer, --grad-bucket-mb, --grad-compression none), got --\(other.0) \(other.2)")
            }
            throw ConfigError("\(source): key \"gradLowRank\" expects the fused fp32 exchange beside it (no shardOptimizer, gradBucketMB, gradCompression none), got \"\(other.1)\": \(other.2)")
        }
        // Only the GMVAE has a phase before a mixture fit; elsewhere the weight would be ignored.
        if pretrainBeta != nil, model != "gmvae" {
            throw ConfigError((source.map { "\($0): key \"pretrainBeta\"" } ?? "--pretrain-beta")
                + " expects the gmvae model (the weight of the epochs before the mixture fit), got model \(model)")
        }
        if priorCovariance != "diagonal", model != "gmvae" {
            throw ConfigError((source.map { "\($0): key \"priorCovariance\"" } ?? "--prior-covariance")
                + " expects the gmvae model (the covariance of the mixture's components), got model \(model)")
        }
        if mixtureLR != nil, model != "gmvae" {
            throw ConfigError((source.map { "\($0): key \"mixtureLR\"" } ?? "--mixture-lr")
                + " expects the gmvae model (the learning rate of the epochs from the mixture fit on), got model \(model)")
        }
        // The weight KL's gradient is added to the whole summed arena after the allreduce; the
        // sharded step never holds the whole arena, so the two are not combined (yet).
        let bayesianEntries = [encoder, decoder].contains { $0?.contains("bdense") == true || $0?.contains("bconv") == true }
        if shardOptimizer, bayesianWeights || bayesianEntries {
            throw ConfigError((source.map { "\($0): key \"shardOptimizer\"" } ?? "--shard-optimizer")
                + " does not combine with Bayesian weights (the weight KL needs the whole summed gradient on every rank); drop one of them")
        }
    }

    /// Reads a JSON config file; keys are the long flag names in camelCase (as in config.json).
    /// Keys left out keep their defaults; unknown keys are refused, since they are almost always typos.
    public static func load(path: String) throws -> TrainConfig {
        let bytes: [UInt8]
        switch RegularFile.read(path, maximum: 16 << 20) {
        case .success(let read): bytes = read
        case .failure(let refusal): throw ConfigError("\(path): cannot read the config file: \(refusal)")
        }
        if let key = DuplicateKeys.first(in: bytes) {
            throw ConfigError("\(path): key \(key) is given more than once; a setting takes one value")
        }
        let config = try decode(Data(bytes), source: path)
        // The file's values, before any flag: its errors name the file's key, not a flag.
        try config.validate(source: path)
        return config
    }

    /// The same from the bytes of a config file; `source` names it in errors.
    public static func decode(_ bytes: Data, source path: String) throws -> TrainConfig {
        let given: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
                throw ConfigError("\(path): expected a JSON object of settings")
            }
            given = object
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("\(path): not valid JSON")
        }
        let known = Set(TrainSettings.all.map(\.key))
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError("\(path): unknown key \"\(unknown)\"; known keys are \(known.sorted().joined(separator: ", "))")
        }
        let defaults = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainConfig()))) as? [String: Any] ?? [:]
        func decodeOver(_ settings: [String: Any]) throws -> TrainConfig {
            let merged = defaults.merging(settings) { _, new in new }
            return try JSONDecoder().decode(TrainConfig.self, from: JSONSerialization.data(withJSONObject: merged))
        }
        do {
            return try decodeOver(given)
        } catch {
            // The decoder rarely names the key of a value that does not fit its type (a number too
            // big for an Int reads as "not valid JSON"), so each setting is tried alone.
            for key in given.keys.sorted() where (try? decodeOver([key: given[key]!])) == nil {
                throw ConfigError("\(path): key \"\(key)\" expects \(Self.expectedValue(key)), found \(Self.render(given[key]!))")
            }
            if case let DecodingError.typeMismatch(_, ctx) = error { throw ConfigError("\(path): \(Self.describe(ctx))") }
            if case let DecodingError.valueNotFound(_, ctx) = error { throw ConfigError("\(path): \(Self.describe(ctx))") }
            if case let DecodingError.dataCorrupted(ctx) = error { throw ConfigError("\(path): \(Self.describe(ctx))") }
            throw ConfigError("\(path): not a valid config: \(error)")
        }
    }

    /// What a setting's JSON value must be, in words, from its declaration.
    private static func expectedValue(_ key: String) -> String {
        TrainSettings.named(key: key)?.jsonType ?? "another value"
    }

    private static func render(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else { return "\(value)" }
        return String(decoding: data.prefix(80), as: UTF8.self)
    }

    private static func describe(_ ctx: DecodingError.Context) -> String {
        let key = ctx.codingPath.map(\.stringValue).joined(separator: ".")
        let what = ctx.debugDescription.split(separator: "\n").first.map(String.init) ?? ""
        return key.isEmpty ? what : "key \"\(key)\": \(what)"
    }

    /// Canonical JSON (sorted keys): what config.json holds and what ranks hash to agree.
    public func canonicalJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        // Encoding a struct of plain values cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension TrainConfig {
    /// The model these settings describe, for data of `inputDim` values a sample shaped
    /// `sampleShape` (what convolutions read as an image).
    public func modelConfig(inputDim: Int, sampleShape: [Int]? = nil) throws -> ModelConfig {
        guard inputDim <= ModelConfig.maximumWidth else {
            throw ConfigError("--data \(data): samples of \(inputDim) values are more than a model takes (at most \(ModelConfig.maximumWidth))")
        }
        guard let act = Activation(parsing: activation) else {
            throw ConfigError("--activation expects \(Self.supportedActivations.joined(separator: "|")), got \(activation)")
        }
        var lik = try Likelihood(parsing: likelihood)
        if case .gaussianFixed = lik { lik = .gaussianFixed(variance: gaussianVariance) }
        var config = ModelConfig(inputDim: inputDim, encoderHidden: hidden, latent: latent, decoderHidden: decoderHidden,
                                 activation: act, likelihood: lik, beta: beta, binarize: binarize)
        // The diagonal model's config stays what it was before the field existed.
        config.posterior = posterior == ModelConfig.defaultPosterior ? nil : posterior
        try applyArchitecture(to: &config, sampleShape: sampleShape ?? [inputDim])
        if bayesianWeights || (config.encoderLayers + config.decoderLayers).contains(where: \.isBayesian) {
            config.bayesian = BayesianWeights(allLayers: bayesianWeights, priorSigma: priorSigma, rhoInit: rhoInit)
        }
        if model == "gmvae" {
            config.variant = ModelConfig.mixtureVariant
            config.clusters = clusters
            config.clusterBalance = clusterBalance
            // The diagonal mixture's config stays what it was before the field existed.
            config.priorCovariance = priorCovariance == "diagonal" ? nil : priorCovariance
        }
        try config.validate()
        return config
    }
}

extension TrainConfig {
    /// The preset's or the flags' encoder and decoder entries, and the image shape when any of
    /// them needs one. The MLP without --encoder / --decoder keeps the model config it always had.
    func applyArchitecture(to config: inout ModelConfig, sampleShape: [Int]) throws {
        let image = ArchitecturePreset.imageShape(sampleShape: sampleShape)
        let preset = ArchitecturePreset.layers(architecture, imageSide: image.map { min($0[1], $0[2]) } ?? 0)
        let enc = try encoder.map { try LayerSpec.parseList($0, flag: "encoder") } ?? preset?.encoder
        let dec = try decoder.map { try LayerSpec.parseList($0, flag: "decoder") } ?? preset?.decoder
        config.encoder = enc
        config.decoder = dec
        let spatial = (enc ?? []) + (dec ?? [])
        if spatial.contains(where: { $0.denseWidth == nil }) {
            guard let image else {
                throw ConfigError("--data \(data): samples of shape \(sampleShape) are not images; --architecture \(architecture)\(encoder.map { " --encoder \($0)" } ?? "")\(decoder.map { " --decoder \($0)" } ?? "") needs samples of [height, width] or [channels, height, width]")
            }
            config.inputShape = image
        }
    }
}
