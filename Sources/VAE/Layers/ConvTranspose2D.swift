import Linalg

/// A 2-D transposed convolution (PyTorch's nn.ConvTranspose2d), the adjoint of a convolution:
/// weight `[in, out, k, k]`, bias `[out]`, output side (in − 1)·stride − 2·padding + k +
/// outputPadding. Forward is one sgemm over the batch then col2im; backward im2col then two sgemm.
struct ConvTranspose2DDefinition: LayerDefinition {
    let name: String
    let inChannels: Int
    let inHeight: Int
    let inWidth: Int
    /// The convolution this layer is the adjoint of, seen from the output image: its unfolded
    /// positions are this layer's input pixels.
    let geometry: ConvGeometry
    let outputPadding: Int
    let activation: Activation?

    init(name: String, input: TensorShape, outChannels: Int, kernel: Int, stride: Int, padding: Int,
         outputPadding: Int, activation: Activation?) {
        guard case .image(let c, let h, let w) = input else { preconditionFailure("ConvTranspose2D needs an image input") }
        self.name = name
        inChannels = c
        inHeight = h
        inWidth = w
        let outH = (h - 1) * stride - 2 * padding + kernel + outputPadding
        let outW = (w - 1) * stride - 2 * padding + kernel + outputPadding
        geometry = ConvGeometry(channels: outChannels, height: outH, width: outW, kernel: kernel, stride: stride,
                                padding: padding)
        self.outputPadding = outputPadding
        self.activation = activation
    }

    var input: TensorShape { .image(channels: inChannels, height: inHeight, width: inWidth) }
    var output: TensorShape { .image(channels: geometry.channels, height: geometry.height, width: geometry.width) }
    var description: String {
        "\(name) convT \(input) -> \(output) (kernel \(geometry.kernelHeight), stride \(geometry.stride), padding \(geometry.padding), output padding \(outputPadding))"
    }

    var parameters: [ParameterDeclaration] {
        let k = geometry.kernelHeight
        // PyTorch takes fan_in from the weight's second dimension, which here is out channels.
        let fanIn = geometry.patchSize
        return [
            ParameterDeclaration(name: "\(name).weight", shape: [inChannels, geometry.channels, k, k],
                                 initialization: .uniform(fanIn: fanIn)),
            ParameterDeclaration(name: "\(name).bias", shape: [geometry.channels], initialization: .uniform(fanIn: fanIn)),
        ]
    }

    var inPositions: Int { inHeight * inWidth }

    var gemmFlopsPerSample: GemmFlops {
        let f = 2 * inChannels * geometry.patchSize * inPositions
        return GemmFlops(forward: f, weightGradient: f, inputGradient: f)
    }

    /// The unfolded `[out·k·k, rows·inPositions]` matrix of forward and of backward.
    var scratchPerRow: Int { geometry.patchSize * inPositions }

    func bind(_ b: inout LayerBinding) -> any Layer {
        ConvTranspose2DLayer(definition: self, binding: &b)
    }
}

final class ConvTranspose2DLayer: Layer {
    let g: ConvGeometry
    let inChannels: Int
    let inPositions: Int
    let activation: Activation?
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let tensors: WeightAndBias
    let unfolding: Im2Col
    let col: UnsafeMutablePointer<Float>
    var columnBiasGradient: UnsafeMutablePointer<Float>? { nil }

    init(definition d: ConvTranspose2DDefinition, binding b: inout LayerBinding) {
        g = d.geometry
        inChannels = d.inChannels
        inPositions = d.inPositions
        activation = d.activation
        input = b.input
        output = b.arena.make(b.rows * d.output.count)
        tensors = b.weightAndBias()
        unfolding = Im2Col(geometry: g)
        // Forward needs nothing of it afterwards: the unfolded matrix is scratch both ways.
        col = b.scratch
    }

    func forward(rows: Int, productsOnly: Bool) {
        let n = rows * inPositions
        let outPositions = g.inPositions
        // col[out·k·k, n] = W[in, out·k·k]^T · X[in, n], folded onto the output a few samples at a
        // time so each chunk of col stays in L2 between the product and the fold (as in
        // Conv2DLayer.backward, and for the same reason no sum changes).
        let chunk = Conv2DLayer.chunkRows(floatsPerRow: g.patchSize * inPositions)
        var n0 = 0
        while n0 < rows {
            let count = Swift.min(chunk, rows - n0), cn = count * inPositions
            Gemm.sgemm(transA: true, transB: false, m: g.patchSize, n: cn, k: inChannels,
                       alpha: 1, a: tensors.weight, lda: g.patchSize, b: input + n0 * inPositions, ldb: n, beta: 0,
                       c: col, ldc: cn)
            if !productsOnly {
                unfolding.fold(col, rows: count, channelStride: rows * outPositions, sampleStride: outPositions,
                               into: output + n0 * outPositions)
            }
            n0 += count
        }
        if productsOnly { return }
        ChannelKernels.biasActivate(output, rows: g.channels, cols: rows * outPositions, bias: tensors.bias,
                                    activation: activation)
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        let n = rows * inPositions
        let outPositions = g.inPositions
        if !productsOnly {
            if !biasGradientDone {
                ChannelKernels.backward(dy, output: output, rows: g.channels, cols: rows * outPositions,
                                        activation: activation, biasGrad: parameterGradients ? tensors.biasGradient : nil)
            }
            unfolding.unfold(dy, rows: rows, channelStride: rows * outPositions, sampleStride: outPositions, into: col)
        }
        if parameterGradients {
            // dW[in, out·k·k] = X[in, n] · dcol[out·k·k, n]^T
            Gemm.sgemm(transA: false, transB: true, m: inChannels, n: g.patchSize, k: n,
                       alpha: 1, a: input, lda: n, b: col, ldb: n, beta: 0, c: tensors.weightGradient, ldc: g.patchSize)
        }
        if let dx = gradInput {
            // dX[in, n] = W[in, out·k·k] · dcol[out·k·k, n]
            Gemm.sgemm(transA: false, transB: false, m: inChannels, n: n, k: g.patchSize,
                       alpha: 1, a: tensors.weight, lda: g.patchSize, b: col, ldb: n, beta: 0, c: dx, ldc: n)
        }
    }
}
