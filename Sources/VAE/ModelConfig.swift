import Foundation

/// How pixels are scored given the decoder output.
///
/// Codable as one string: "bernoulli", "gaussian" (variance 1), "gaussian:<variance>",
/// "gaussian-learned" (a per-pixel log-variance in the arena, `likelihood.logvar`).
public enum Likelihood: Equatable, Codable, CustomStringConvertible {
    /// Logits; targets in [0, 1]; stable binary cross-entropy.
    case bernoulli
    /// Decoder output is the mean; fixed variance. -log p includes 0.5·log(2π·variance) per pixel.
    case gaussianFixed(variance: Float)
    /// Decoder output is the mean; a learned per-pixel log-variance parameter.
    case gaussianLearned

    public var description: String {
        switch self {
        case .bernoulli: return "bernoulli"
        case .gaussianFixed(let v): return v == 1 ? "gaussian" : "gaussian:\(v)"
        case .gaussianLearned: return "gaussian-learned"
        }
    }

    public init(parsing text: String) throws {
        let t = text.lowercased()
        if t == "bernoulli" { self = .bernoulli; return }
        if t == "gaussian" || t == "gaussian-fixed" { self = .gaussianFixed(variance: 1); return }
        if t == "gaussian-learned" || t == "gaussianlearned" { self = .gaussianLearned; return }
        for prefix in ["gaussian:", "gaussian-fixed:"] where t.hasPrefix(prefix) {
            if let v = Float(t.dropFirst(prefix.count)), v.isFinite, v > 0 {
                self = .gaussianFixed(variance: v); return
            }
        }
        throw ConfigError("likelihood: expected bernoulli, gaussian, gaussian:<variance > 0> or gaussian-learned, found \"\(text)\"")
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

public struct ModelConfig: Codable, Equatable {
    public var inputDim: Int
    public var encoderHidden: [Int]
    public var latent: Int
    /// Decoder hidden sizes, input side first; reversed `encoderHidden` unless given.
    public var decoderHidden: [Int]
    public var activation: Activation
    public var likelihood: Likelihood
    /// KL weight of the ELBO (the trainer may multiply in a warm-up factor).
    public var beta: Float
    /// Dynamic binarization: each step scores x ~ Bernoulli(pixel) instead of the pixel.
    public var binarize: Bool
    /// The architecture, when it is more than dense layers: encoder and decoder entries (see
    /// `LayerSpec`) replacing `encoderHidden` / `decoderHidden`, and the data's image shape
    /// `[channels, height, width]` that convolutions need. Absent (every checkpoint written
    /// before these fields existed): today's MLP of `encoderHidden` / `decoderHidden`.
    public var encoder: [LayerSpec]?
    public var decoder: [LayerSpec]?
    public var inputShape: [Int]?
    /// The latent block; absent means the diagonal Gaussian, the only one so far.
    public var variant: String?
    public static let defaultVariant = "gaussian"
    /// The weights' variational distribution (Bayes by Backprop); see `BayesianWeights`.
    public var bayesian: BayesianWeights?
    /// Whether any layer of the model is Bayesian.
    public var hasBayesianLayers: Bool {
        bayesian?.allLayers == true || (encoderLayers + decoderLayers).contains(where: \.isBayesian)
    }
    /// The Gaussian-mixture VAE (`GaussianMixture`): `clusters` components, and the weight of its
    /// batch balance term. Both absent in checkpoints of the other variants.
    public static let mixtureVariant = "gmvae"
    public var clusters: Int?
    public var clusterBalance: Float?
    public static let defaultClusters = 10
    /// The mixture's components' covariance: "diagonal" (`prior.logvars`) or "full"
    /// (`prior.precision_cholesky`); absent (checkpoints written before it existed) means diagonal.
    public var priorCovariance: String?
    public static let priorCovariances = ["diagonal", "full"]
    /// The Gaussian's covariance: "diagonal" or "full" (a Cholesky factor per sample); absent
    /// (checkpoints written before it existed) means diagonal.
    public var posterior: String?
    public static let defaultPosterior = "diagonal"
    public static let posteriors = ["diagonal", "full"]

    /// The encoder entries the factory builds from.
    public var encoderLayers: [LayerSpec] { encoder ?? encoderHidden.map { .dense($0) } }
    public var decoderLayers: [LayerSpec] { decoder ?? decoderHidden.map { .dense($0) } }

    public init(
        inputDim: Int, encoderHidden: [Int], latent: Int, decoderHidden: [Int]? = nil,
        activation: Activation = .relu, likelihood: Likelihood = .bernoulli, beta: Float = 1,
        binarize: Bool = false
    ) {
        self.inputDim = inputDim
        self.encoderHidden = encoderHidden
        self.latent = latent
        self.decoderHidden = decoderHidden ?? encoderHidden.reversed()
        self.activation = activation
        self.likelihood = likelihood
        self.beta = beta
        self.binarize = binarize
    }

    /// The issue's benchmark model: 784-512-256-(32)/32-256-512-784, ReLU, Bernoulli.
    public static let benchmark = ModelConfig(inputDim: 784, encoderHidden: [512, 256], latent: 32)

    private enum CodingKeys: String, CodingKey {
        case inputDim, encoderHidden, latent, decoderHidden, activation, likelihood, beta, binarize
        case encoder, decoder, inputShape, variant, bayesian, clusters, clusterBalance, posterior, priorCovariance
    }

    /// Missing optional fields take their defaults, so a hand-written config can stay short.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputDim = try c.decode(Int.self, forKey: .inputDim)
        encoderHidden = try c.decode([Int].self, forKey: .encoderHidden)
        latent = try c.decode(Int.self, forKey: .latent)
        decoderHidden = try c.decodeIfPresent([Int].self, forKey: .decoderHidden) ?? encoderHidden.reversed()
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .relu
        likelihood = try c.decodeIfPresent(Likelihood.self, forKey: .likelihood) ?? .bernoulli
        beta = try c.decodeIfPresent(Float.self, forKey: .beta) ?? 1
        binarize = try c.decodeIfPresent(Bool.self, forKey: .binarize) ?? false
        self.encoder = try c.decodeIfPresent([LayerSpec].self, forKey: .encoder)
        self.decoder = try c.decodeIfPresent([LayerSpec].self, forKey: .decoder)
        inputShape = try c.decodeIfPresent([Int].self, forKey: .inputShape)
        variant = try c.decodeIfPresent(String.self, forKey: .variant)
        bayesian = try c.decodeIfPresent(BayesianWeights.self, forKey: .bayesian)
        clusters = try c.decodeIfPresent(Int.self, forKey: .clusters)
        clusterBalance = try c.decodeIfPresent(Float.self, forKey: .clusterBalance)
        posterior = try c.decodeIfPresent(String.self, forKey: .posterior)
        priorCovariance = try c.decodeIfPresent(String.self, forKey: .priorCovariance)
    }

    /// Decodes and validates a config from JSON; any problem becomes one line naming `source`.
    public static func decode(json data: Data, source: String) throws -> ModelConfig {
        let config: ModelConfig
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: data)
        } catch let error as ConfigError {
            throw ConfigError("\(source): \(error.description)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw ConfigError("\(source): model config: missing field \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(type, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigError("\(source): model config: field \"\(path)\" should be \(type)")
        } catch let DecodingError.valueNotFound(type, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigError("\(source): model config: field \"\(path)\" should be \(type), found null")
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            let reason = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            throw ConfigError("\(source): model config: invalid \(path.isEmpty ? "JSON" : "field \"\(path)\"") (\(reason.split(separator: "\n").first ?? ""))")
        } catch {
            throw ConfigError("\(source): model config: \(error)".split(separator: "\n").joined(separator: " "))
        }
        do { try config.validate() } catch let error as ConfigError { throw ConfigError("\(source): \(error.description)") }
        return config
    }

    /// 2^31 floats: 8 GiB for the parameters alone, and as much again for each of the gradients
    /// and Adam's two moments.
    public static let maximumParameters = 1 << 31
    /// Widest layer (the data's values a sample included): keeps row sizes far from overflow.
    public static let maximumWidth = 1 << 24

    /// Throws on sizes a model cannot be built from.
    public func validate() throws {
        if inputDim < 1 { throw ConfigError("model config: inputDim must be >= 1, found \(inputDim)") }
        if latent < 1 { throw ConfigError("model config: latent must be >= 1, found \(latent)") }
        if let bad = encoderHidden.first(where: { $0 < 1 }) {
            throw ConfigError("model config: encoderHidden sizes must be >= 1, found \(bad) in \(encoderHidden)")
        }
        if let bad = decoderHidden.first(where: { $0 < 1 }) {
            throw ConfigError("model config: decoderHidden sizes must be >= 1, found \(bad) in \(decoderHidden)")
        }
        if !beta.isFinite || beta < 0 { throw ConfigError("model config: beta must be finite and >= 0, found \(beta)") }
        if case .gaussianFixed(let v) = likelihood, !(v.isFinite && v > 0) {
            throw ConfigError("model config: gaussian variance must be finite and > 0, found \(v)")
        }
        if let k = clusters, !(1...4096).contains(k) {
            throw ConfigError("model config: clusters must be from 1 to 4096, found \(k)")
        }
        if let p = priorCovariance {
            guard Self.priorCovariances.contains(p) else {
                throw ConfigError("model config: priorCovariance must be \"diagonal\" or \"full\", found \"\(p)\"")
            }
            guard variant == Self.mixtureVariant else {
                throw ConfigError("model config: priorCovariance is the mixture's (variant \"\(Self.mixtureVariant)\"), found variant \"\(variant ?? Self.defaultVariant)\"")
            }
        }
        if let b = clusterBalance, !(b.isFinite && b >= 0) {
            throw ConfigError("model config: clusterBalance must be finite and >= 0, found \(b)")
        }
        let widths = [inputDim, latent] + encoderHidden + decoderHidden
        if widths.contains(where: { $0 > Self.maximumWidth }) {
            throw ConfigError("model config: layer widths must be <= \(Self.maximumWidth), found \(widths.max() ?? 0)")
        }
        if encoderHidden.count + decoderHidden.count > 64 {
            throw ConfigError("model config: at most 64 hidden layers, found \(encoderHidden.count + decoderHidden.count)")
        }
        if encoderLayers.count + decoderLayers.count > 64 {
            throw ConfigError("model config: at most 64 encoder and decoder entries, found \(encoderLayers.count + decoderLayers.count)")
        }
        try checkSizes(encoderLayers + decoderLayers)
        try bayesian?.validate()
        // Widths up to 2^24 and at most 64 layers keep this sum far from overflow.
        let parameters = try ParameterLayout(architecture: ModelArchitecture(config: self), config: self).count
        if parameters > Self.maximumParameters {
            throw ConfigError("model config: \(parameters) parameters, more than the \(Self.maximumParameters) supported")
        }
    }

    /// Channel counts and kernels bounded like widths, so no product of them overflows.
    private func checkSizes(_ specs: [LayerSpec]) throws {
        for spec in specs {
            if let n = spec.denseWidth {
                if n > Self.maximumWidth { throw ConfigError("model config: layer \(spec): widths must be <= \(Self.maximumWidth)") }
            } else if spec.sizes.contains(where: { $0 > 4096 }) {
                throw ConfigError("model config: layer \(spec): channels, kernel, stride and padding must be <= 4096")
            }
        }
        if let s = inputShape, s.contains(where: { $0 > Self.maximumWidth }) {
            throw ConfigError("model config: inputShape \(s) has a side above \(Self.maximumWidth)")
        }
    }
}
