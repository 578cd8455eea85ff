/// The settings of a model's variational distribution over its weights, q(W) = N(mu, softplus(rho)²)
/// per weight, against the prior N(0, priorSigma²). Part of the model config, so a checkpoint
/// rebuilds the same layers; absent (every checkpoint written before it existed): no layer is
/// Bayesian unless the architecture names one (`bdense`, `bconv`), with the defaults below.
public struct BayesianWeights: Codable, Equatable, Sendable {
    /// Every dense and convolutional layer Bayesian, the latent head and the decoder's included
    /// (transposed convolutions stay ordinary), not only the `bdense` / `bconv` entries.
    public var allLayers: Bool
    /// The prior's standard deviation.
    public var priorSigma: Float
    /// rho every weight starts at: softplus(−5) ≈ 0.0067, small enough that the network trains
    /// like its deterministic twin at first and the data, not the noise, shape the early steps.
    public var rhoInit: Float

    public static let defaultPriorSigma: Float = 1
    public static let defaultRhoInit: Float = -5

    public init(allLayers: Bool = false, priorSigma: Float = BayesianWeights.defaultPriorSigma,
                rhoInit: Float = BayesianWeights.defaultRhoInit) {
        self.allLayers = allLayers
        self.priorSigma = priorSigma
        self.rhoInit = rhoInit
    }

    private enum CodingKeys: String, CodingKey { case allLayers, priorSigma, rhoInit }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allLayers = try c.decodeIfPresent(Bool.self, forKey: .allLayers) ?? false
        priorSigma = try c.decodeIfPresent(Float.self, forKey: .priorSigma) ?? Self.defaultPriorSigma
        rhoInit = try c.decodeIfPresent(Float.self, forKey: .rhoInit) ?? Self.defaultRhoInit
    }

    func validate() throws {
        if !(priorSigma.isFinite && priorSigma > 0) {
            throw ConfigError("model config: bayesian.priorSigma must be finite and > 0, found \(priorSigma)")
        }
        if !(rhoInit.isFinite && rhoInit >= -30 && rhoInit <= 10) {
            throw ConfigError("model config: bayesian.rhoInit must be from -30 to 10, found \(rhoInit)")
        }
    }
}
