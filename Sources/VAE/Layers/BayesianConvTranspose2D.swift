import Linalg

/// A 2-D transposed convolution with a factorized Gaussian over its kernel and bias, by the local
/// reparameterization trick: each output value is a sum of products of input values and distinct
/// weights, so its mean is `convT(x; mu)` and its variance `convT(x²; sigma²)` (plus the bias's),
/// one sgemm and one fold each, and every output value gets its own standard normal. As in
/// BayesianConv2D, output values that share a kernel are drawn independently, which drops the
/// correlation a single sampled kernel would give them; each value's mean and variance are exact.
/// Shapes, tensors and the output padding are ConvTranspose2D's, the tensors as `.mu` / `.rho`.
struct BayesianConvTranspose2DDefinition: LayerDefinition {
    let plain: ConvTranspose2DDefinition
    let noiseLayer: Int
    let rhoInit: Float

    init(_ plain: ConvTranspose2DDefinition, noiseLayer: Int, rhoInit: Float) {
        self.plain = plain
        self.noiseLayer = noiseLayer
        self.rhoInit = rhoInit
    }

    var name: String { plain.name }
    var input: TensorShape { plain.input }
    var output: TensorShape { plain.output }
    var activation: Activation? { plain.activation }
    var description: String { plain.description.replacingOccurrences(of: " convT ", with: " bayesian convT ") }
    var parameters: [ParameterDeclaration] { bayesianDeclarations(plain.parameters, rhoInit: rhoInit) }

    /// Two products where the deterministic layer has one, in every direction.
    var gemmFlopsPerSample: GemmFlops {
        let f = plain.gemmFlopsPerSample
        return GemmFlops(forward: 2 * f.forward, weightGradient: 2 * f.weightGradient, inputGradient: 2 * f.inputGradient)
    }

    var scratchPerRow: Int { plain.scratchPerRow }

    func bind(_ b: inout LayerBinding) -> any Layer { BayesianConvTranspose2DLayer(definition: self, binding: &b) }
}

final class BayesianConvTranspose2DLayer: Layer {
    /// The convolution this layer is the adjoint of (its input is this layer's output).
    let g: ConvGeometry
    let unfolding: Im2Col
    let inChannels: Int
    let inPositions: Int
    let activation: Activation?
    let noiseLayer: Int
    let noise: WeightNoise?
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let mu: WeightAndBias
    let rho: WeightAndBias
    let wVar, bVar: UnsafeMutablePointer<Float>
    /// The input squared, `[in, rows·inPositions]`, kept for the rho gradient.
    let x2: UnsafeMutablePointer<Float>
    /// Unfolded products `[out·k·k, rows·inPositions]`: scratch for the forward's two and the
    /// backward's unfolded dy; `dcolVar` the unfolded variance gradient.
    let col, dcolVar: UnsafeMutablePointer<Float>
    /// Standard deviations and noise of the output values, channel-major like the output.
    let std, eps: UnsafeMutablePointer<Float>
    let sampleNoise: UnsafeMutablePointer<Float>
    let dVar: UnsafeMutablePointer<Float>
    /// sigma² · dcolVar, the input gradient's variance part before the 2x factor.
    let dxVar: UnsafeMutablePointer<Float>
    private(set) var sampledLast = false
    var columnBiasGradient: UnsafeMutablePointer<Float>? { nil }

    init(definition d: BayesianConvTranspose2DDefinition, binding b: inout LayerBinding) {
        g = d.plain.geometry
        unfolding = Im2Col(geometry: g)
        inChannels = d.plain.inChannels
        inPositions = d.plain.inPositions
        activation = d.activation
        noiseLayer = d.noiseLayer
        noise = b.weightNoise
        input = b.input
        let outCount = b.rows * d.output.count, inCount = b.rows * d.input.count
        output = b.arena.make(outCount)
        mu = b.weightAndBias(weight: 0, bias: 1)
        rho = b.weightAndBias(weight: 2, bias: 3)
        wVar = b.arena.make(inChannels * g.patchSize)
        bVar = b.arena.make(g.channels)
        x2 = b.arena.make(inCount)
        col = b.scratch
        dcolVar = b.arena.make(b.rows * d.scratchPerRow)
        std = b.arena.make(outCount)
        eps = b.arena.make(outCount)
        sampleNoise = b.arena.make(d.output.count)
        dVar = b.arena.make(outCount)
        dxVar = b.arena.make(inCount)
    }

    var mode: WeightNoise.Mode { noise?.mode ?? .given }

    func forward(rows: Int, productsOnly: Bool) {
        let n = rows * inPositions, outPositions = g.inPositions, m = rows * outPositions
        // col[out·k·k, n] = W[in, out·k·k]^T · X[in, n], folded onto the output: the mean.
        Gemm.sgemm(transA: true, transB: false, m: g.patchSize, n: n, k: inChannels,
                   alpha: 1, a: mu.weight, lda: g.patchSize, b: input, ldb: n, beta: 0, c: col, ldc: n)
        if !productsOnly {
            unfolding.fold(col, rows: rows, channelStride: m, sampleStride: outPositions, into: output)
        }
        sampledLast = mode != .mean
        if sampledLast {
            if !productsOnly {
                WeightSigma.variance(rho.weight, into: wVar, count: inChannels * g.patchSize)
                WeightSigma.variance(rho.bias, into: bVar, count: g.channels)
                for i in 0..<(inChannels * n) { x2[i] = input[i] * input[i] }
                if let noise, noise.mode == .sampled {
                    ChannelNoise.fill(noise, layer: noiseLayer, rows: rows, channels: g.channels, positions: outPositions,
                                      sample: sampleNoise, into: eps)
                }
            }
            // The same product and fold on x² and sigma²: the variance.
            Gemm.sgemm(transA: true, transB: false, m: g.patchSize, n: n, k: inChannels,
                       alpha: 1, a: wVar, lda: g.patchSize, b: x2, ldb: n, beta: 0, c: col, ldc: n)
            if !productsOnly {
                unfolding.fold(col, rows: rows, channelStride: m, sampleStride: outPositions, into: std)
                ChannelNoise.addNoise(output, std: std, eps: eps, biasVariance: bVar, channels: g.channels, columns: m)
            }
        }
        if !productsOnly {
            ChannelKernels.biasActivate(output, rows: g.channels, cols: m, bias: mu.bias, activation: activation)
        }
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        let n = rows * inPositions, outPositions = g.inPositions, m = rows * outPositions
        if !productsOnly {
            if !biasGradientDone {
                ChannelKernels.backward(dy, output: output, rows: g.channels, cols: m, activation: activation,
                                        biasGrad: parameterGradients ? mu.biasGradient : nil)
            }
            unfolding.unfold(dy, rows: rows, channelStride: m, sampleStride: outPositions, into: col)
            if sampledLast {
                ChannelNoise.varianceGradient(dy, std: std, eps: eps, into: dVar, count: g.channels * m)
                unfolding.unfold(dVar, rows: rows, channelStride: m, sampleStride: outPositions, into: dcolVar)
            }
        }
        if parameterGradients {
            // dW[in, out·k·k] = X[in, n] · dcol[out·k·k, n]^T, and the same for x² and the variance.
            Gemm.sgemm(transA: false, transB: true, m: inChannels, n: g.patchSize, k: n,
                       alpha: 1, a: input, lda: n, b: col, ldb: n, beta: 0, c: mu.weightGradient, ldc: g.patchSize)
            if sampledLast {
                Gemm.sgemm(transA: false, transB: true, m: inChannels, n: g.patchSize, k: n,
                           alpha: 1, a: x2, lda: n, b: dcolVar, ldb: n, beta: 0, c: rho.weightGradient, ldc: g.patchSize)
                if !productsOnly {
                    WeightSigma.varianceToRho(rho.weightGradient, rho: rho.weight, count: inChannels * g.patchSize)
                    ChannelNoise.biasRhoGradient(dVar, channels: g.channels, columns: m, rho: rho.bias,
                                                 into: rho.biasGradient)
                }
            } else if !productsOnly {
                rho.weightGradient.update(repeating: 0, count: inChannels * g.patchSize)
                rho.biasGradient.update(repeating: 0, count: g.channels)
            }
        }
        guard let dx = gradInput else { return }
        // dX[in, n] = mu · dcol + 2x ⊙ (sigma² · dcolVar)
        Gemm.sgemm(transA: false, transB: false, m: inChannels, n: n, k: g.patchSize,
                   alpha: 1, a: mu.weight, lda: g.patchSize, b: col, ldb: n, beta: 0, c: dx, ldc: n)
        if sampledLast {
            Gemm.sgemm(transA: false, transB: false, m: inChannels, n: n, k: g.patchSize,
                       alpha: 1, a: wVar, lda: g.patchSize, b: dcolVar, ldb: n, beta: 0, c: dxVar, ldc: n)
            if !productsOnly {
                for i in 0..<(inChannels * n) { dx[i] += 2 * input[i] * dxVar[i] }
            }
        }
    }
}
