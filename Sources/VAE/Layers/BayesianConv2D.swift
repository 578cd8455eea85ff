import Linalg

/// A 2-D convolution with a factorized Gaussian over its kernel and bias, by the local
/// reparameterization trick on the unfolded input: the output's mean is `mu · col`, its variance
/// `sigma² · col²` (col the im2col matrix), one sgemm each, and every output value gets its own
/// standard normal. Output values of one sample that share a kernel are drawn independently here,
/// which ignores the correlation a single sampled kernel would give them (Kingma et al.'s
/// variational dropout does the same for convolutions); the mean and variance of each value are
/// exact.
struct BayesianConv2DDefinition: LayerDefinition {
    let name: String
    let geometry: ConvGeometry
    let outChannels: Int
    let activation: Activation?
    let noiseLayer: Int
    let rhoInit: Float

    init(name: String, input: TensorShape, outChannels: Int, kernel: Int, stride: Int, padding: Int,
         activation: Activation?, noiseLayer: Int, rhoInit: Float) {
        guard case .image(let c, let h, let w) = input else { preconditionFailure("BayesianConv2D needs an image input") }
        self.name = name
        geometry = ConvGeometry(channels: c, height: h, width: w, kernel: kernel, stride: stride, padding: padding)
        self.outChannels = outChannels
        self.activation = activation
        self.noiseLayer = noiseLayer
        self.rhoInit = rhoInit
    }

    var input: TensorShape { .image(channels: geometry.channels, height: geometry.height, width: geometry.width) }
    var output: TensorShape { .image(channels: outChannels, height: geometry.outHeight, width: geometry.outWidth) }
    var description: String {
        "\(name) bayesian conv \(input) -> \(output) (kernel \(geometry.kernelHeight), stride \(geometry.stride), padding \(geometry.padding))"
    }

    var parameters: [ParameterDeclaration] {
        let k = geometry.kernelHeight
        let fanIn = geometry.patchSize
        return bayesianDeclarations([
            ParameterDeclaration(name: "\(name).weight", shape: [outChannels, geometry.channels, k, k],
                                 initialization: .uniform(fanIn: fanIn)),
            ParameterDeclaration(name: "\(name).bias", shape: [outChannels], initialization: .uniform(fanIn: fanIn)),
        ], rhoInit: rhoInit)
    }

    var gemmFlopsPerSample: GemmFlops {
        let f = 2 * outChannels * geometry.patchSize * geometry.outPositions
        return GemmFlops(forward: 2 * f, weightGradient: 2 * f, inputGradient: 2 * f)
    }

    var scratchPerRow: Int { geometry.patchSize * geometry.outPositions }

    func bind(_ b: inout LayerBinding) -> any Layer { BayesianConv2DLayer(definition: self, binding: &b) }
}

final class BayesianConv2DLayer: Layer {
    let g: ConvGeometry
    /// The geometry's unfold / fold, made once (it owns its padded plane and offset table).
    let unfolding: Im2Col
    let outChannels: Int
    let activation: Activation?
    let noiseLayer: Int
    let noise: WeightNoise?
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let wMu, bMu, wRho, bRho: UnsafeMutablePointer<Float>
    let gwMu, gbMu, gwRho, gbRho: UnsafeMutablePointer<Float>
    let wVar, bVar: UnsafeMutablePointer<Float>
    /// The unfolded input and its square, `[patch, rows·positions]`.
    let col, col2: UnsafeMutablePointer<Float>
    /// Standard deviations and noise of the output values, channel-major like the output.
    let std, eps: UnsafeMutablePointer<Float>
    /// One sample's noise in sample order `[out, positions]` before it is spread channel-major.
    let sampleNoise: UnsafeMutablePointer<Float>
    let dVar: UnsafeMutablePointer<Float>
    let dcol, dcolVar: UnsafeMutablePointer<Float>
    private(set) var sampledLast = false
    var columnBiasGradient: UnsafeMutablePointer<Float>? { nil }

    init(definition d: BayesianConv2DDefinition, binding b: inout LayerBinding) {
        g = d.geometry
        unfolding = Im2Col(geometry: d.geometry)
        outChannels = d.outChannels
        activation = d.activation
        noiseLayer = d.noiseLayer
        noise = b.weightNoise
        input = b.input
        let outCount = b.rows * d.output.count
        output = b.arena.make(outCount)
        let o = b.offsets
        wMu = b.parameters + o[0]; bMu = b.parameters + o[1]; wRho = b.parameters + o[2]; bRho = b.parameters + o[3]
        gwMu = b.gradients + o[0]; gbMu = b.gradients + o[1]; gwRho = b.gradients + o[2]; gbRho = b.gradients + o[3]
        wVar = b.arena.make(d.outChannels * g.patchSize)
        bVar = b.arena.make(d.outChannels)
        col = b.arena.make(b.rows * g.patchSize * g.outPositions)
        col2 = b.arena.make(b.rows * g.patchSize * g.outPositions)
        std = b.arena.make(outCount)
        eps = b.arena.make(outCount)
        sampleNoise = b.arena.make(d.output.count)
        dVar = b.arena.make(outCount)
        dcol = b.scratch
        dcolVar = b.arena.make(b.rows * g.patchSize * g.outPositions)
    }

    var mode: WeightNoise.Mode { noise?.mode ?? .given }

    func forward(rows: Int, productsOnly: Bool) {
        let n = rows * g.outPositions, P = g.outPositions
        if !productsOnly {
            unfolding.unfold(input, rows: rows, channelStride: rows * g.inPositions, sampleStride: g.inPositions, into: col)
        }
        Gemm.sgemm(transA: false, transB: false, m: outChannels, n: n, k: g.patchSize,
                   alpha: 1, a: wMu, lda: g.patchSize, b: col, ldb: n, beta: 0, c: output, ldc: n)
        sampledLast = mode != .mean
        if sampledLast {
            if !productsOnly {
                WeightSigma.variance(wRho, into: wVar, count: outChannels * g.patchSize)
                WeightSigma.variance(bRho, into: bVar, count: outChannels)
                for i in 0..<(g.patchSize * n) { col2[i] = col[i] * col[i] }
                if let noise, noise.mode == .sampled {
                    ChannelNoise.fill(noise, layer: noiseLayer, rows: rows, channels: outChannels, positions: P,
                                      sample: sampleNoise, into: eps)
                }
            }
            Gemm.sgemm(transA: false, transB: false, m: outChannels, n: n, k: g.patchSize,
                       alpha: 1, a: wVar, lda: g.patchSize, b: col2, ldb: n, beta: 0, c: std, ldc: n)
            if !productsOnly {
                ChannelNoise.addNoise(output, std: std, eps: eps, biasVariance: bVar, channels: outChannels, columns: n)
            }
        }
        if !productsOnly {
            ChannelKernels.biasActivate(output, rows: outChannels, cols: n, bias: bMu, activation: activation)
        }
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        let n = rows * g.outPositions
        if !productsOnly && !biasGradientDone {
            ChannelKernels.backward(dy, output: output, rows: outChannels, cols: n, activation: activation,
                                    biasGrad: parameterGradients ? gbMu : nil)
        }
        if parameterGradients {
            Gemm.sgemm(transA: false, transB: true, m: outChannels, n: g.patchSize, k: n,
                       alpha: 1, a: dy, lda: n, b: col, ldb: n, beta: 0, c: gwMu, ldc: g.patchSize)
        }
        if sampledLast && !productsOnly {
            ChannelNoise.varianceGradient(dy, std: std, eps: eps, into: dVar, count: outChannels * n)
        }
        if parameterGradients {
            if sampledLast {
                Gemm.sgemm(transA: false, transB: true, m: outChannels, n: g.patchSize, k: n,
                           alpha: 1, a: dVar, lda: n, b: col2, ldb: n, beta: 0, c: gwRho, ldc: g.patchSize)
                if !productsOnly {
                    WeightSigma.varianceToRho(gwRho, rho: wRho, count: outChannels * g.patchSize)
                    ChannelNoise.biasRhoGradient(dVar, channels: outChannels, columns: n, rho: bRho, into: gbRho)
                }
            } else if !productsOnly {
                gwRho.update(repeating: 0, count: outChannels * g.patchSize)
                gbRho.update(repeating: 0, count: outChannels)
            }
        }
        guard let dx = gradInput else { return }
        Gemm.sgemm(transA: true, transB: false, m: g.patchSize, n: n, k: outChannels,
                   alpha: 1, a: wMu, lda: g.patchSize, b: dy, ldb: n, beta: 0, c: dcol, ldc: n)
        if sampledLast {
            Gemm.sgemm(transA: true, transB: false, m: g.patchSize, n: n, k: outChannels,
                       alpha: 1, a: wVar, lda: g.patchSize, b: dVar, ldb: n, beta: 0, c: dcolVar, ldc: n)
            if !productsOnly {
                for i in 0..<(g.patchSize * n) { dcol[i] += 2 * col[i] * dcolVar[i] }
            }
        }
        if !productsOnly {
            unfolding.fold(dcol, rows: rows, channelStride: rows * g.inPositions, sampleStride: g.inPositions, into: dx)
        }
    }
}
