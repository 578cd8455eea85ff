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

/// A dense layer's place in the arena: weight `[outDim, inDim]` at `weight`, bias at `bias`.
struct DenseSlot {
    let inDim: Int
    let outDim: Int
    let weight: Int
    let bias: Int
}

/// Where every tensor lives. Order: encoder hidden layers, the two heads, decoder layers, then the
/// learned log-variance if any.
///
/// The heads are laid out mu.weight, logvar.weight, mu.bias, logvar.bias: the two weights form one
/// `[2·latent, hidden]` matrix and the biases one `[2·latent]` vector, so both heads are one GEMM
/// whose output rows read `[mu | logvar]`.
struct ParameterLayout {
    var specs: [TensorSpec] = []
    var encoder: [DenseSlot] = []
    var heads: DenseSlot
    var decoder: [DenseSlot] = []
    var likelihoodLogVar: Int?
    var count: Int

    init(config: ModelConfig) {
        var specs: [TensorSpec] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let spec = TensorSpec(name: name, shape: shape, offset: offset)
            specs.append(spec)
            offset += spec.count
            return spec.offset
        }
        func dense(_ prefix: String, _ inDim: Int, _ outDim: Int) -> DenseSlot {
            let w = add("\(prefix).weight", [outDim, inDim])
            let b = add("\(prefix).bias", [outDim])
            return DenseSlot(inDim: inDim, outDim: outDim, weight: w, bias: b)
        }

        var encoder: [DenseSlot] = []
        var width = config.inputDim
        for (i, h) in config.encoderHidden.enumerated() {
            encoder.append(dense("encoder.\(i)", width, h))
            width = h
        }
        let L = config.latent
        let muW = add("encoder.mu.weight", [L, width])
        _ = add("encoder.logvar.weight", [L, width])
        let muB = add("encoder.mu.bias", [L])
        _ = add("encoder.logvar.bias", [L])
        heads = DenseSlot(inDim: width, outDim: 2 * L, weight: muW, bias: muB)

        var decoder: [DenseSlot] = []
        width = L
        for (j, h) in config.decoderHidden.enumerated() {
            decoder.append(dense("decoder.\(j)", width, h))
            width = h
        }
        decoder.append(dense("decoder.\(config.decoderHidden.count)", width, config.inputDim))

        if config.likelihood == .gaussianLearned {
            likelihoodLogVar = add("likelihood.logvar", [config.inputDim])
        }
        self.specs = specs
        self.encoder = encoder
        self.decoder = decoder
        self.count = offset
    }
}
