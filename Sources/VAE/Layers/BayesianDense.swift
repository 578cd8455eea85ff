import Linalg

/// The declarations of a Bayesian layer built from an ordinary layer's: every tensor `X` becomes
/// `X.mu` (drawn as `X` was) and `X.rho` (a constant, so sigma = softplus(rho) starts small),
/// all means first in the ordinary layer's order, then all rhos in the same order, so a head laid
/// out in halves keeps each group contiguous.
func bayesianDeclarations(_ base: [ParameterDeclaration], rhoInit: Float) -> [ParameterDeclaration] {
    base.map { ParameterDeclaration(name: $0.name + ".mu", shape: $0.shape, initialization: $0.initialization) }
        + base.map { ParameterDeclaration(name: $0.name + ".rho", shape: $0.shape, initialization: .constant(rhoInit)) }
}

/// A fully connected layer with a factorized Gaussian over its weights and biases, trained by
/// Bayes by Backprop with the local reparameterization trick: instead of drawing a weight matrix,
/// each pre-activation is drawn from its exact marginal, mean `x·mu^T + b_mu`, variance
/// `x²·(sigma²)^T + sigma_b²`, so a batch costs two sgemm forward (and two of each kind backward)
/// and every sample sees independent weights.
struct BayesianDenseDefinition: LayerDefinition {
    let name: String
    let inDim: Int
    let outDim: Int
    let activation: Activation?
    /// This layer's number among the model's Bayesian layers: its noise stream.
    let noiseLayer: Int
    let declared: [ParameterDeclaration]
    /// Index in `declared` of the first weight mean, bias mean, weight rho and bias rho.
    let slots: (wMu: Int, bMu: Int, wRho: Int, bRho: Int)

    /// `base`: the ordinary layer's declarations (default: `name.weight`, `name.bias`).
    init(name: String, inDim: Int, outDim: Int, activation: Activation?, noiseLayer: Int, rhoInit: Float,
         base: [ParameterDeclaration]? = nil) {
        self.name = name
        self.inDim = inDim
        self.outDim = outDim
        self.activation = activation
        self.noiseLayer = noiseLayer
        let plain = base ?? DenseDefinition(name: name, inDim: inDim, outDim: outDim, activation: activation).parameters
        declared = bayesianDeclarations(plain, rhoInit: rhoInit)
        let w = plain.firstIndex { $0.shape.count == 2 } ?? 0
        let b = plain.firstIndex { $0.shape.count == 1 } ?? 1
        slots = (w, b, plain.count + w, plain.count + b)
    }

    var input: TensorShape { .flat(inDim) }
    var output: TensorShape { .flat(outDim) }
    var parameters: [ParameterDeclaration] { declared }
    var description: String { "\(name) bayesian dense \(inDim) -> \(outDim)" }

    var gemmFlopsPerSample: GemmFlops {
        let f = 2 * inDim * outDim
        return GemmFlops(forward: 2 * f, weightGradient: 2 * f, inputGradient: 2 * f)
    }

    var scratchPerRow: Int { 0 }

    func bind(_ b: inout LayerBinding) -> any Layer { BayesianDenseLayer(definition: self, binding: &b) }
}

final class BayesianDenseLayer: Layer {
    let inDim: Int
    let outDim: Int
    let activation: Activation?
    let noiseLayer: Int
    let noise: WeightNoise?
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let wMu, bMu, wRho, bRho: UnsafeMutablePointer<Float>
    let gwMu, gbMu, gwRho, gbRho: UnsafeMutablePointer<Float>
    /// sigma² of the weights and biases, from rho at each sampled forward.
    let wVar, bVar: UnsafeMutablePointer<Float>
    /// x² of the last forward, `[rows, in]`.
    let x2: UnsafeMutablePointer<Float>
    /// The pre-activations' standard deviations and standard normals, `[rows, out]`.
    let std: UnsafeMutablePointer<Float>
    /// The noise of the last forward, `[rows, out]`: written by `WeightNoise` or by a test.
    let eps: UnsafeMutablePointer<Float>
    /// d/d(variance) of the pre-activations, and the variance path's input gradient.
    let dVar: UnsafeMutablePointer<Float>
    let dxVar: UnsafeMutablePointer<Float>
    /// Whether the last forward drew noise (backward follows it).
    private(set) var sampledLast = false
    var columnBiasGradient: UnsafeMutablePointer<Float>? { gbMu }

    init(definition d: BayesianDenseDefinition, binding b: inout LayerBinding) {
        inDim = d.inDim
        outDim = d.outDim
        activation = d.activation
        noiseLayer = d.noiseLayer
        noise = b.weightNoise
        input = b.input
        output = b.arena.make(b.rows * d.outDim)
        let o = b.offsets
        wMu = b.parameters + o[d.slots.wMu]; bMu = b.parameters + o[d.slots.bMu]
        wRho = b.parameters + o[d.slots.wRho]; bRho = b.parameters + o[d.slots.bRho]
        gwMu = b.gradients + o[d.slots.wMu]; gbMu = b.gradients + o[d.slots.bMu]
        gwRho = b.gradients + o[d.slots.wRho]; gbRho = b.gradients + o[d.slots.bRho]
        wVar = b.arena.make(d.inDim * d.outDim)
        bVar = b.arena.make(d.outDim)
        x2 = b.arena.make(b.rows * d.inDim)
        std = b.arena.make(b.rows * d.outDim)
        eps = b.arena.make(b.rows * d.outDim)
        dVar = b.arena.make(b.rows * d.outDim)
        dxVar = b.arena.make(b.rows * d.inDim)
    }

    var mode: WeightNoise.Mode { noise?.mode ?? .given }

    func forward(rows: Int, productsOnly: Bool) {
        Gemm.linear(rows: rows, inDim: inDim, outDim: outDim, x: input, w: wMu, y: output)
        sampledLast = mode != .mean
        if sampledLast {
            if !productsOnly {
                WeightSigma.variance(wRho, into: wVar, count: inDim * outDim)
                WeightSigma.variance(bRho, into: bVar, count: outDim)
                for i in 0..<(rows * inDim) { x2[i] = input[i] * input[i] }
                if let noise, noise.mode == .sampled {
                    for r in 0..<rows { noise.fill(row: r, layer: noiseLayer, into: eps + r * outDim, count: outDim) }
                }
            }
            Gemm.linear(rows: rows, inDim: inDim, outDim: outDim, x: x2, w: wVar, y: std)
            if !productsOnly {
                for r in 0..<rows {
                    let s = std + r * outDim, e = eps + r * outDim, y = output + r * outDim
                    for j in 0..<outDim {
                        let sd = FastMath.sqrt(Swift.max(s[j] + bVar[j], 0))
                        s[j] = sd
                        y[j] += sd * e[j]
                    }
                }
            }
        }
        if productsOnly { return }
        DensePass.forwardEpilogue(output, rows: rows, cols: outDim, bias: bMu, activation: activation)
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        // The mean path is the ordinary dense layer's, call for call.
        DensePass.backward(rows: rows, inDim: inDim, outDim: outDim, dy: dy, input: input, output: output, weight: wMu,
                           activation: activation, weightGrad: gwMu, biasGrad: gbMu, gradInput: gradInput,
                           parameterGradients: parameterGradients, biasGradientDone: biasGradientDone,
                           productsOnly: productsOnly)
        guard sampledLast else {
            if parameterGradients && !productsOnly {
                gwRho.update(repeating: 0, count: inDim * outDim)
                gbRho.update(repeating: 0, count: outDim)
            }
            return
        }
        // out = mean + sd·eps, sd = sqrt(var): d/d(var) = dy·eps / (2·sd) (0 where sd is 0).
        if !productsOnly {
            for i in 0..<(rows * outDim) {
                let sd = std[i]
                dVar[i] = sd > 0 ? dy[i] * eps[i] / (2 * sd) : 0
            }
        }
        if parameterGradients {
            // d/d(sigma²) = dVar^T · x², then through sigma² = softplus(rho)².
            Gemm.weightGradient(rows: rows, inDim: inDim, outDim: outDim, dy: dVar, x: x2, dw: gwRho)
            if !productsOnly {
                WeightSigma.varianceToRho(gwRho, rho: wRho, count: inDim * outDim)
                for j in 0..<outDim { gbRho[j] = 0 }
                for i in 0..<rows {
                    let r = dVar + i * outDim
                    for j in 0..<outDim { gbRho[j] += r[j] }
                }
                WeightSigma.varianceToRho(gbRho, rho: bRho, count: outDim)
            }
        }
        if let dx = gradInput {
            // d/dx of x²·(sigma²)^T: 2x ⊙ (dVar · sigma²).
            Gemm.inputGradient(rows: rows, inDim: inDim, outDim: outDim, dy: dVar, w: wVar, dx: dxVar)
            if !productsOnly {
                for i in 0..<(rows * inDim) { dx[i] += 2 * input[i] * dxVar[i] }
            }
        }
    }
}
