/// A chain of bound layers and the pair of gradient buffers its backward passes between them:
/// the one generic loop that training, evaluation, saliency and the product replay all run.
struct LayerStack {
    let definitions: [any LayerDefinition]
    let layers: [any Layer]
    /// Layers below this index own no tensors; a backward that needs no input gradient stops at
    /// it (the first parameterized encoder layer needs no gradient w.r.t. the data).
    let firstParameterized: Int
    /// The lowest arena offset of each layer's tensors (nil: it has none). The arena holds the
    /// layers in order, so once layer i's gradients are written during backward, every gradient
    /// from this offset to the end of the arena is final.
    let lowestOffsets: [Int?]
    /// The pair backward passes between layers (empty when the stack never runs backward).
    let gradients: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Floats in each of `gradients`.
    let gradientCount: Int

    /// Binds `definitions` in order on `input` for up to `rows` rows; `offsets[i]` are layer i's
    /// tensor offsets. The gradient pair is sized only when `backward` will run.
    init(_ definitions: [any LayerDefinition], offsets: [[Int]], input: UnsafeMutablePointer<Float>, rows: Int,
         parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, backward: Bool,
         arena: inout BufferArena, weightNoise: WeightNoise? = nil) {
        self.definitions = definitions
        let scratch = arena.make(rows * (definitions.map(\.scratchPerRow).max() ?? 0))
        var layers: [any Layer] = []
        var x = input
        for (d, o) in zip(definitions, offsets) {
            var binding = LayerBinding(rows: rows, input: x, parameters: parameters, gradients: gradients, offsets: o,
                                       scratch: scratch, arena: arena, weightNoise: weightNoise)
            let layer = d.bind(&binding)
            arena = binding.arena
            layers.append(layer)
            x = layer.output
        }
        self.layers = layers
        lowestOffsets = offsets.map { $0.min() }
        firstParameterized = definitions.firstIndex { !$0.parameters.isEmpty } ?? 0
        let widest = definitions.map { max($0.input.count, $0.output.count) }.max() ?? 1
        let count = backward ? rows * widest : 0
        self.gradients = (arena.make(count), arena.make(count))
        gradientCount = count
    }

    var output: UnsafeMutablePointer<Float> { layers[layers.count - 1].output }
    var top: any Layer { layers[layers.count - 1] }

    @inline(__always)
    func forward(rows: Int, productsOnly: Bool = false) {
        for layer in layers { layer.forward(rows: rows, productsOnly: productsOnly) }
    }

    /// Backward from `gradTop`, d/d(output of the last layer) (overwritten; when `topBiasDone`,
    /// already w.r.t. its pre-activation with its bias gradient written). The input gradient of
    /// the first layer lands in `gradInput`; with nil the pass stops at `firstParameterized`.
    @inline(__always)
    func backward(rows: Int, gradTop: UnsafeMutablePointer<Float>, topBiasDone: Bool,
                  gradInput: UnsafeMutablePointer<Float>?, parameterGradients: Bool, productsOnly: Bool = false,
                  ready: ((Int) -> Void)? = nil) {
        var g = gradTop
        var useFirst = true
        let bottom = gradInput == nil ? firstParameterized : 0
        var i = layers.count - 1
        while i >= bottom {
            let dx: UnsafeMutablePointer<Float>?
            if i == bottom {
                dx = gradInput
            } else {
                dx = useFirst ? gradients.0 : gradients.1
                useFirst.toggle()
            }
            layers[i].backward(rows: rows, gradOutput: g, gradInput: dx, parameterGradients: parameterGradients,
                               biasGradientDone: topBiasDone && i == layers.count - 1, productsOnly: productsOnly)
            // Lets a data-parallel trainer send the finished gradients while the rest are computed.
            if parameterGradients, let ready, let offset = lowestOffsets[i] { ready(offset) }
            if let dx { g = dx }
            i -= 1
        }
    }

    /// GEMM FLOP per sample of one training step through this stack: forward, weight gradients,
    /// and input gradients down to the first layer when `inputGradient`, else down to the one above
    /// `firstParameterized`.
    func trainingFlopsPerSample(inputGradient: Bool) -> Int {
        var f = 0
        for (i, d) in definitions.enumerated() {
            let g = d.gemmFlopsPerSample
            f += g.forward + g.weightGradient
            if inputGradient || i > firstParameterized { f += g.inputGradient }
        }
        return f
    }
}
