import Linalg

/// The dense layer's kernels around its products, shared by `Dense` and the mean path of
/// `BayesianDense`, which must stay call for call the ordinary layer's (a Bayesian layer with
/// σ = 0 reproduces the VAE bit for bit).
enum DensePass {
    /// Bias, then the activation, over the product's `rows x cols` output in place.
    static func forwardEpilogue(_ output: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                bias: UnsafePointer<Float>, activation: Activation?) {
        if let activation {
            ActivationKernels.biasActivate(output, rows: rows, cols: cols, bias: bias, activation: activation)
        } else {
            ActivationKernels.biasAdd(output, rows: rows, cols: cols, bias: bias)
        }
    }

    /// The activation derivative and the bias gradient in one pass over dy, as the MLP always did
    /// (there it ran right after the layer above had written dy), then the weight and input
    /// gradients' products.
    static func backward(rows: Int, inDim: Int, outDim: Int, dy: UnsafeMutablePointer<Float>,
                         input: UnsafePointer<Float>, output: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         activation: Activation?, weightGrad: UnsafeMutablePointer<Float>,
                         biasGrad: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                         parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        if !productsOnly && !biasGradientDone {
            if parameterGradients {
                if let activation {
                    ActivationKernels.backward(dy, output: output, rows: rows, cols: outDim, activation: activation,
                                               biasGrad: biasGrad)
                } else {
                    for j in 0..<outDim { biasGrad[j] = 0 }
                    for i in 0..<rows {
                        let r = dy + i * outDim
                        for j in 0..<outDim { biasGrad[j] += r[j] }
                    }
                }
            } else if let activation {
                ActivationKernels.backwardNoBias(dy, output: output, rows: rows, cols: outDim, activation: activation)
            }
        }
        if parameterGradients {
            Gemm.weightGradient(rows: rows, inDim: inDim, outDim: outDim, dy: dy, x: input, dw: weightGrad)
        }
        if let dx = gradInput {
            Gemm.inputGradient(rows: rows, inDim: inDim, outDim: outDim, dy: dy, w: weight, dx: dx)
        }
    }
}
