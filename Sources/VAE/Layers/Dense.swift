import Linalg

/// A fully connected layer (PyTorch's nn.Linear): weight `[out, in]`, bias `[out]`, on flat
/// tensors `[rows, in]`. The kernels are the ones the MLP has always used, so a stack of these
/// issues the same calls in the same order as before the layers existed.
struct DenseDefinition: LayerDefinition {
    let name: String
    let inDim: Int
    let outDim: Int
    let activation: Activation?
    /// The tensors' names and arena order; a latent block may lay a head's tensors out its own way
    /// (the Gaussian's mu and logvar weights side by side, then both biases), and gives them here.
    let declared: [ParameterDeclaration]

    init(name: String, inDim: Int, outDim: Int, activation: Activation?, parameters: [ParameterDeclaration]? = nil) {
        self.name = name
        self.inDim = inDim
        self.outDim = outDim
        self.activation = activation
        declared = parameters ?? [
            ParameterDeclaration(name: "\(name).weight", shape: [outDim, inDim], initialization: .uniform(fanIn: inDim)),
            ParameterDeclaration(name: "\(name).bias", shape: [outDim], initialization: .uniform(fanIn: inDim)),
        ]
    }

    var input: TensorShape { .flat(inDim) }
    var output: TensorShape { .flat(outDim) }
    var parameters: [ParameterDeclaration] { declared }
    var description: String { "\(name) dense \(inDim) -> \(outDim)" }

    var gemmFlopsPerSample: GemmFlops {
        let f = 2 * inDim * outDim
        return GemmFlops(forward: f, weightGradient: f, inputGradient: f)
    }

    var scratchPerRow: Int { 0 }

    func bind(_ b: inout LayerBinding) -> any Layer { DenseLayer(definition: self, binding: &b) }
}

final class DenseLayer: Layer {
    let inDim: Int
    let outDim: Int
    let activation: Activation?
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let weight, bias, weightGrad, biasGrad: UnsafeMutablePointer<Float>
    var columnBiasGradient: UnsafeMutablePointer<Float>? { biasGrad }

    /// The weight comes first in the arena and the bias second unless the declaration names
    /// other offsets: the first declared `[out, in]` tensor is the weight, the first `[out]` one
    /// the bias (a head declared as two halves passes the offsets of the first half of each).
    init(definition d: DenseDefinition, binding b: inout LayerBinding) {
        inDim = d.inDim
        outDim = d.outDim
        activation = d.activation
        input = b.input
        output = b.arena.make(b.rows * d.outDim)
        let w = d.declared.firstIndex { $0.shape.count == 2 } ?? 0
        let bi = d.declared.firstIndex { $0.shape.count == 1 } ?? 1
        let p = b.weightAndBias(weight: w, bias: bi)
        (weight, bias, weightGrad, biasGrad) = (p.weight, p.bias, p.weightGradient, p.biasGradient)
    }

    func forward(rows: Int, productsOnly: Bool) {
        Gemm.linear(rows: rows, inDim: inDim, outDim: outDim, x: input, w: weight, y: output)
        if productsOnly { return }
        DensePass.forwardEpilogue(output, rows: rows, cols: outDim, bias: bias, activation: activation)
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        DensePass.backward(rows: rows, inDim: inDim, outDim: outDim, dy: dy, input: input, output: output, weight: weight,
                           activation: activation, weightGrad: weightGrad, biasGrad: biasGrad, gradInput: gradInput,
                           parameterGradients: parameterGradients, biasGradientDone: biasGradientDone,
                           productsOnly: productsOnly)
    }
}
