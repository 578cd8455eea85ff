import Linalg

/// A 2-D convolution (PyTorch's nn.Conv2d: cross-correlation, square kernel, zero padding),
/// weight `[out, in, k, k]`, bias `[out]`, as im2col followed by one sgemm over the whole batch.
struct Conv2DDefinition: LayerDefinition {
    let name: String
    let geometry: ConvGeometry
    let outChannels: Int
    let activation: Activation?

    init(name: String, input: TensorShape, outChannels: Int, kernel: Int, stride: Int, padding: Int,
         activation: Activation?) {
        guard case .image(let c, let h, let w) = input else { preconditionFailure("Conv2D needs an image input") }
        self.name = name
        geometry = ConvGeometry(channels: c, height: h, width: w, kernel: kernel, stride: stride, padding: padding)
        self.outChannels = outChannels
        self.activation = activation
    }

    var input: TensorShape { .image(channels: geometry.channels, height: geometry.height, width: geometry.width) }
    var output: TensorShape { .image(channels: outChannels, height: geometry.outHeight, width: geometry.outWidth) }
    var description: String {
        "\(name) conv \(input) -> \(output) (kernel \(geometry.kernelHeight), stride \(geometry.stride), padding \(geometry.padding))"
    }

    var parameters: [ParameterDeclaration] {
        let k = geometry.kernelHeight
        let fanIn = geometry.patchSize
        return [
            ParameterDeclaration(name: "\(name).weight", shape: [outChannels, geometry.channels, k, k],
                                 initialization: .uniform(fanIn: fanIn)),
            ParameterDeclaration(name: "\(name).bias", shape: [outChannels], initialization: .uniform(fanIn: fanIn)),
        ]
    }

    var gemmFlopsPerSample: GemmFlops {
        let f = 2 * outChannels * geometry.patchSize * geometry.outPositions
        return GemmFlops(forward: f, weightGradient: f, inputGradient: f)
    }

    /// The unfolded gradient `[patchSize, rows·outPositions]` of the input-gradient product.
    var scratchPerRow: Int { geometry.patchSize * geometry.outPositions }

    func bind(_ b: inout LayerBinding) -> any Layer {
        Conv2DLayer(definition: self, binding: &b)
    }
}

final class Conv2DLayer: Layer {
    let g: ConvGeometry
    let outChannels: Int
    let activation: Activation?
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let tensors: WeightAndBias
    let unfolding: Im2Col
    /// The unfolded input of the last forward, kept for the weight gradient.
    let col: UnsafeMutablePointer<Float>
    let dcol: UnsafeMutablePointer<Float>
    var columnBiasGradient: UnsafeMutablePointer<Float>? { nil }

    init(definition d: Conv2DDefinition, binding b: inout LayerBinding) {
        g = d.geometry
        outChannels = d.outChannels
        activation = d.activation
        input = b.input
        output = b.arena.make(b.rows * d.output.count)
        tensors = b.weightAndBias()
        unfolding = Im2Col(geometry: g)
        col = b.arena.make(b.rows * g.patchSize * g.outPositions)
        dcol = b.scratch
    }

    func forward(rows: Int, productsOnly: Bool) {
        let n = rows * g.outPositions
        if !productsOnly {
            unfolding.unfold(input, rows: rows, channelStride: rows * g.inPositions, sampleStride: g.inPositions, into: col)
        }
        // Y[out, n] = W[out, patch] · col[patch, n]
        Gemm.sgemm(transA: false, transB: false, m: outChannels, n: n, k: g.patchSize,
                   alpha: 1, a: tensors.weight, lda: g.patchSize, b: col, ldb: n, beta: 0, c: output, ldc: n)
        if !productsOnly {
            ChannelKernels.biasActivate(output, rows: outChannels, cols: n, bias: tensors.bias, activation: activation)
        }
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        let n = rows * g.outPositions
        if !productsOnly && !biasGradientDone {
            ChannelKernels.backward(dy, output: output, rows: outChannels, cols: n, activation: activation,
                                    biasGrad: parameterGradients ? tensors.biasGradient : nil)
        }
        if parameterGradients {
            // dW[out, patch] = dY[out, n] · col[patch, n]^T
            Gemm.sgemm(transA: false, transB: true, m: outChannels, n: g.patchSize, k: n,
                       alpha: 1, a: dy, lda: n, b: col, ldb: n, beta: 0, c: tensors.weightGradient, ldc: g.patchSize)
        }
        guard let dx = gradInput else { return }
        // dcol[patch, n] = W[out, patch]^T · dY[out, n], folded back onto the input, a few samples
        // at a time: the whole batch's dcol (12.8 MB for the conv preset's second layer) would
        // be written to memory and read back by the fold, which then waits on its loads; a chunk
        // stays in L2 between the two. Each entry is the same dot product over the out channels
        // whatever the chunk, and the fold sums per pixel, so the chunking changes no sum.
        let chunk = Self.chunkRows(floatsPerRow: g.patchSize * g.outPositions)
        var n0 = 0
        while n0 < rows {
            let count = Swift.min(chunk, rows - n0), cn = count * g.outPositions
            Gemm.sgemm(transA: true, transB: false, m: g.patchSize, n: cn, k: outChannels,
                       alpha: 1, a: tensors.weight, lda: g.patchSize, b: dy + n0 * g.outPositions, ldb: n, beta: 0,
                       c: dcol, ldc: cn)
            if !productsOnly {
                unfolding.fold(dcol, rows: count, channelStride: rows * g.inPositions, sampleStride: g.inPositions,
                               into: dx + n0 * g.inPositions)
            }
            n0 += count
        }
    }

    /// Samples whose unfolded matrix fits in about 512 KiB, half a core's L2 here (the rest is
    /// for sgemm's packed panels).
    static func chunkRows(floatsPerRow: Int) -> Int { Swift.max(1, (128 * 1024) / Swift.max(1, floatsPerRow)) }
}
