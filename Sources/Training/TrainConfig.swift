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
    public var model = "vae"
    /// The Gaussian posterior's covariance: diagonal, or full (a Cholesky factor per sample).
    public var posterior = "diagonal"
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
    /// Stop after this many steps in total (0: no limit); for tests and benchmarks.
    public var maxSteps = 0
    /// Gradients are reduced in buckets of this many MiB, each started as soon as the backward
    /// pass has produced it (last layer first) so the transfer overlaps the rest of backward;
    /// 0 keeps one fused allreduce after backward.
    public var gradBucketMB: Double = 0
    /// Gradients travel as 16-bit floats ("bf16", or "fp16" with a scale against overflow),
    /// summed in fp32; "none" sends fp32. The loss sums always travel in fp32.
    public var gradCompression = "none"

    public init() {}

    /// Bounds that keep sizes computed from these settings far from overflow.
    public static let maximumBatchSize = 1 << 24
    public static let maximumIWAE = 1_000_000

    public static let supportedModels = ["vae"]
    public static let supportedGradCompressions = ["none", "bf16", "fp16"]
    public static let supportedLikelihoods = ["bernoulli", "gaussian", "gaussian-learned"]
    public static let supportedActivations = ["relu", "leaky-relu", "tanh", "elu"]

    /// Rejects values no run could use, naming the flag, what it takes and what it got.
    /// With `source`, the values come from that settings file, and errors name its keys.
    public func validate(source: String? = nil) throws {
        func bad(_ flag: String, _ expected: String, _ found: Any) -> ConfigError {
            guard let source else { return ConfigError("--\(flag) expects \(expected), got \(found)") }
            return ConfigError("\(source): key \"\(Self.key(ofFlag: flag))\" expects \(expected), got \(found)")
        }
        if epochs < 1 { throw bad("epochs", "a whole number of at least 1", epochs) }
        if batchSize < 1 || batchSize > Self.maximumBatchSize {
            throw bad("batch-size", "a whole number from 1 to \(Self.maximumBatchSize)", batchSize)
        }
        if !(lr.isFinite && lr > 0) { throw bad("lr", "a positive number", lr) }
        if latent < 1 { throw bad("latent", "a whole number of at least 1", latent) }
        if hidden.isEmpty || hidden.contains(where: { $0 < 1 }) {
            throw bad("hidden", "a comma-separated list of positive widths such as 512,256", hidden.map(String.init).joined(separator: ","))
        }
        if let d = decoderHidden, d.contains(where: { $0 < 1 }) {
            throw bad("decoder-hidden", "positive widths", d.map(String.init).joined(separator: ","))
        }
        if !ArchitecturePreset.names.contains(architecture) {
            throw bad("architecture", ArchitecturePreset.names.joined(separator: "|"), architecture)
        }
        if let encoder { _ = try LayerSpec.parseList(encoder, flag: "encoder") }
        if let decoder { _ = try LayerSpec.parseList(decoder, flag: "decoder") }
        if !Self.supportedActivations.contains(activation) {
            throw bad("activation", Self.supportedActivations.joined(separator: "|"), activation)
        }
        if !Self.supportedLikelihoods.contains(likelihood) {
            throw bad("likelihood", Self.supportedLikelihoods.joined(separator: "|"), likelihood)
        }
        if !Self.supportedModels.contains(model) {
            throw bad("model", Self.supportedModels.joined(separator: "|"), model)
        }
        if !ModelConfig.posteriors.contains(posterior) {
            throw bad("posterior", ModelConfig.posteriors.joined(separator: "|"), posterior)
        }
        if !(gaussianVariance.isFinite && gaussianVariance > 0) { throw bad("gaussian-variance", "a positive number", gaussianVariance) }
        if !(beta.isFinite && beta >= 0) { throw bad("beta", "a number >= 0", beta) }
        if !(warmupEpochs.isFinite && warmupEpochs >= 0) { throw bad("warmup-epochs", "a number >= 0", warmupEpochs) }
        if !(weightDecay.isFinite && weightDecay >= 0) { throw bad("weight-decay", "a number >= 0", weightDecay) }
        if !(clipNorm.isFinite && clipNorm >= 0) { throw bad("clip-norm", "a number >= 0", clipNorm) }
        if checkpointEvery < 0 { throw bad("checkpoint-every", "a whole number >= 0", checkpointEvery) }
        if keepCheckpoints < 1 { throw bad("keep-checkpoints", "a whole number of at least 1", keepCheckpoints) }
        if logEvery < 1 { throw bad("log-every", "a whole number of at least 1", logEvery) }
        if replicaCheckEvery < 1 { throw bad("replica-check-every", "a whole number of at least 1", replicaCheckEvery) }
        if maxNonFiniteSteps < 1 { throw bad("max-nonfinite-steps", "a whole number of at least 1", maxNonFiniteSteps) }
        if explainSamples.contains(where: { $0 < 0 }) { throw bad("explain-sample", "sample indices >= 0", explainSamples) }
        if explainIWAE < 1 || explainIWAE > Self.maximumIWAE {
            throw bad("explain-iwae", "a whole number from 1 to \(Self.maximumIWAE)", explainIWAE)
        }
        if maxSteps < 0 { throw bad("max-steps", "a whole number >= 0", maxSteps) }
        if out.isEmpty { throw bad("out", "a directory path", "an empty string") }
        if !(gradBucketMB.isFinite && gradBucketMB >= 0 && gradBucketMB <= 4096) {
            throw bad("grad-bucket-mb", "a size in MiB from 0 (one fused allreduce) to 4096", gradBucketMB)
        }
        if !Self.supportedGradCompressions.contains(gradCompression) {
            throw bad("grad-compression", Self.supportedGradCompressions.joined(separator: "|"), gradCompression)
        }
    }

    /// The config-file key of a flag: its name in camelCase, but for the few whose key says more.
    static func key(ofFlag flag: String) -> String {
        let irregular = ["max-nonfinite-steps": "maxNonFiniteSteps", "eval": "evaluateTest",
                         "explain-iwae": "explainIWAE", "explain-sample": "explainSamples"]
        if let key = irregular[flag] { return key }
        let words = flag.split(separator: "-")
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
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
        let known = Set(Mirror(reflecting: TrainConfig()).children.compactMap(\.label))
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

    /// What a setting takes, in words, from the type of its default.
    private static func expectedValue(_ key: String) -> String {
        guard let value = Mirror(reflecting: TrainConfig()).children.first(where: { $0.label == key })?.value else { return "another value" }
        switch "\(type(of: value))" {
        case "Int": return "a whole number that fits 64 bits"
        case "UInt64": return "a whole number from 0 to \(UInt64.max)"
        case "Float": return "a number within 32-bit float range (about 1e-38 to 3e38 in size, or 0)"
        case "Double": return "a number"
        case "Bool": return "true or false"
        case "String": return "a string"
        case "Array<Int>": return "a list of whole numbers"
        case "Optional<Array<Int>>": return "a list of whole numbers or null"
        case "Optional<String>": return "a string or null"
        case let other: return "a value of type \(other)"
        }
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
        if spatial.contains(where: { if case .dense = $0 { return false } else { return true } }) {
            guard let image else {
                throw ConfigError("--data \(data): samples of shape \(sampleShape) are not images; --architecture \(architecture)\(encoder.map { " --encoder \($0)" } ?? "")\(decoder.map { " --decoder \($0)" } ?? "") needs samples of [height, width] or [channels, height, width]")
            }
            config.inputShape = image
        }
    }
}
