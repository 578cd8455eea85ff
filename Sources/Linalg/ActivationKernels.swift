/// Fused per-layer elementwise passes. Each runs once over a `[rows, cols]` block right after (or
/// right before) the layer's GEMM, so a layer costs one extra memory pass, not three.
///
/// Derivatives are written in terms of the activation *output* y, which is what the forward pass
/// keeps: ReLU y>0; LeakyReLU y>0 ? 1 : slope (the sign survives the positive slope);
/// Tanh 1-y^2; ELU (alpha 1) y>0 ? 1 : y+1.
public enum ActivationKernels {
    /// y[i, j] = act(y[i, j] + bias[j]) in place.
    public static func biasActivate(
        _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
        bias: UnsafePointer<Float>, activation: Activation
    ) {
        switch activation {
        case .relu:
            for i in 0..<rows {
                let row = y + i * cols
                for j in 0..<cols { row[j] = Swift.max(row[j] + bias[j], 0) }
            }
        case .leakyRelu:
            let slope = Activation.leakySlope
            for i in 0..<rows {
                let row = y + i * cols
                for j in 0..<cols {
                    let v = row[j] + bias[j]
                    row[j] = v > 0 ? v : v * slope
                }
            }
        case .tanh:
            for i in 0..<rows {
                let row = y + i * cols
                for j in 0..<cols {
                    let v = row[j] + bias[j]
                    // tanh|v| = (1 - e)/(1 + e), e = exp(-2|v|); sign restored afterwards.
                    let e = FastMath.exp(-2 * Swift.abs(v))
                    let t = (1 - e) / (1 + e)
                    row[j] = v < 0 ? -t : t
                }
            }
        case .elu:
            for i in 0..<rows {
                let row = y + i * cols
                for j in 0..<cols {
                    let v = row[j] + bias[j]
                    row[j] = v > 0 ? v : FastMath.exp(Swift.min(v, 0)) - 1
                }
            }
        }
    }

    /// Adds bias[j] to every row (heads and output layers, which have no activation).
    public static func biasAdd(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        for i in 0..<rows {
            let row = y + i * cols
            for j in 0..<cols { row[j] += bias[j] }
        }
    }

    /// g[i, j] *= act'(y[i, j]) in place and biasGrad[j] = sum_i g[i, j] (overwritten).
    ///
    /// Converts the gradient w.r.t. a layer's output into the gradient w.r.t. its pre-activation,
    /// and produces that layer's bias gradient in the same pass.
    public static func backward(
        _ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, rows: Int, cols: Int,
        activation: Activation, biasGrad: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<cols { biasGrad[j] = 0 }
        switch activation {
        case .relu:
            for i in 0..<rows {
                let gr = g + i * cols, yr = y + i * cols
                for j in 0..<cols {
                    let d = yr[j] > 0 ? gr[j] : 0
                    gr[j] = d
                    biasGrad[j] += d
                }
            }
        case .leakyRelu:
            let slope = Activation.leakySlope
            for i in 0..<rows {
                let gr = g + i * cols, yr = y + i * cols
                for j in 0..<cols {
                    let d = yr[j] > 0 ? gr[j] : gr[j] * slope
                    gr[j] = d
                    biasGrad[j] += d
                }
            }
        case .tanh:
            for i in 0..<rows {
                let gr = g + i * cols, yr = y + i * cols
                for j in 0..<cols {
                    let d = gr[j] * (1 - yr[j] * yr[j])
                    gr[j] = d
                    biasGrad[j] += d
                }
            }
        case .elu:
            for i in 0..<rows {
                let gr = g + i * cols, yr = y + i * cols
                for j in 0..<cols {
                    let d = yr[j] > 0 ? gr[j] : gr[j] * (yr[j] + 1)
                    gr[j] = d
                    biasGrad[j] += d
                }
            }
        }
    }

    /// g[i, j] *= act'(y[i, j]) without a bias gradient (saliency backward).
    public static func backwardNoBias(
        _ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, rows: Int, cols: Int,
        activation: Activation
    ) {
        let n = rows * cols
        switch activation {
        case .relu: for i in 0..<n { g[i] = y[i] > 0 ? g[i] : 0 }
        case .leakyRelu:
            let slope = Activation.leakySlope
            for i in 0..<n { g[i] = y[i] > 0 ? g[i] : g[i] * slope }
        case .tanh: for i in 0..<n { g[i] *= 1 - y[i] * y[i] }
        case .elu: for i in 0..<n { g[i] = y[i] > 0 ? g[i] : g[i] * (y[i] + 1) }
        }
    }

    /// Scalar reference activation (tests, non-hot paths).
    public static func apply(_ activation: Activation, _ v: Float) -> Float {
        switch activation {
        case .relu: return Swift.max(v, 0)
        case .leakyRelu: return v > 0 ? v : v * Activation.leakySlope
        case .tanh:
            let e = FastMath.exp(-2 * Swift.abs(v))
            let t = (1 - e) / (1 + e)
            return v < 0 ? -t : t
        case .elu: return v > 0 ? v : FastMath.exp(Swift.min(v, 0)) - 1
        }
    }
}
