/// One named tensor in the parameter arena.
public struct TensorSpec: Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int], offset: Int) {
        self.name = name
        self.shape = shape
        self.offset = offset
    }
}

/// Where every tensor lives: the tensors each layer declares, in layer order (encoder layers with
/// the latent block's head last, then the latent block's own tensors, then the decoder layers),
/// then the learned log-variance if any.
/// One arena means one allreduce per step, one optimizer loop and one checkpoint loop.
struct ParameterLayout {
    var specs: [TensorSpec] = []
    var initializations: [Initialization] = []
    /// Each tensor's key of the initialization RNG: its index among the tensors that take one.
    var initKeys: [Int] = []
    /// Offsets of each layer's tensors, in its declaration order.
    var encoder: [[Int]] = []
    var decoder: [[Int]] = []
    /// Offset of the latent block's first own tensor (where its tensors would start if it has none).
    var latentBlock = 0
    var likelihoodLogVar: Int?
    var count: Int

    init(architecture: ModelArchitecture, config: ModelConfig) {
        var offset = 0
        var specs: [TensorSpec] = []
        var initializations: [Initialization] = []
        var initKeys: [Int] = [], nextKey = 0
        func key(_ takes: Bool) {
            initKeys.append(nextKey)
            if takes { nextKey += 1 }
        }
        func place(_ layers: [any LayerDefinition]) -> [[Int]] {
            layers.map { layer in
                layer.parameters.map { p in
                    specs.append(TensorSpec(name: p.name, shape: p.shape, offset: offset))
                    initializations.append(p.initialization)
                    key(p.takesInitKey)
                    offset += p.count
                    return offset - p.count
                }
            }
        }
        encoder = place(architecture.encoder)
        latentBlock = offset
        for p in architecture.latent.blockParameters {
            specs.append(TensorSpec(name: p.name, shape: p.shape, offset: offset))
            initializations.append(p.initialization)
            key(p.takesInitKey)
            offset += p.count
        }
        decoder = place(architecture.decoder)
        if config.likelihood == .gaussianLearned {
            specs.append(TensorSpec(name: "likelihood.logvar", shape: [config.inputDim], offset: offset))
            initializations.append(.zeros)
            key(true)
            likelihoodLogVar = offset
            offset += config.inputDim
        }
        self.specs = specs
        self.initializations = initializations
        self.initKeys = initKeys
        count = offset
    }
}
