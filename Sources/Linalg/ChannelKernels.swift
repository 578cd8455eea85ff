/// The fused bias + activation passes of `ActivationKernels`, for channel-major activations
/// `[channels, columns]` (a convolution's output, every sample's pixels of one channel in one
/// row), where the bias is one value per row instead of one per column.
///
/// Derivatives are taken from the activation output, as in `ActivationKernels`.
public enum ChannelKernels {
    /// y[c, k] = act(y[c, k] + bias[c]) in place; `activation` nil adds the bias only.
    public static func biasActivate(
        _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>, activation: Activation?
    ) {
        for c in 0..<rows {
            let row = y + c * cols
            let b = bias[c]
            switch activation {
            case nil: for k in 0..<cols { row[k] += b }
            case .relu?: for k in 0..<cols { row[k] = Swift.max(row[k] + b, 0) }
            case .leakyRelu?:
                let slope = Activation.leakySlope
                for k in 0..<cols { let v = row[k] + b; row[k] = v > 0 ? v : v * slope }
            case .tanh?:
                for k in 0..<cols {
                    let v = row[k] + b
                    let e = FastMath.exp(-2 * Swift.abs(v))
                    let t = (1 - e) / (1 + e)
                    row[k] = v < 0 ? -t : t
                }
            case .elu?:
                for k in 0..<cols { let v = row[k] + b; row[k] = v > 0 ? v : FastMath.exp(Swift.min(v, 0)) - 1 }
            }
        }
    }

    /// g[c, k] *= act'(y[c, k]) in place (nothing for `activation` nil) and, when `biasGrad` is
    /// given, biasGrad[c] = Σ_k g[c, k] (overwritten), in the same pass over g.
    public static func backward(
        _ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, rows: Int, cols: Int,
        activation: Activation?, biasGrad: UnsafeMutablePointer<Float>?
    ) {
        for c in 0..<rows {
            let gr = g + c * cols, yr = y + c * cols
            switch activation {
            case nil: break
            case .relu?: for k in 0..<cols { gr[k] = yr[k] > 0 ? gr[k] : 0 }
            case .leakyRelu?:
                let slope = Activation.leakySlope
                for k in 0..<cols { gr[k] = yr[k] > 0 ? gr[k] : gr[k] * slope }
            case .tanh?: for k in 0..<cols { gr[k] *= 1 - yr[k] * yr[k] }
            case .elu?: for k in 0..<cols { gr[k] = yr[k] > 0 ? gr[k] : gr[k] * (yr[k] + 1) }
            }
            // Summed right after the row was rewritten, while it is still in cache.
            if let biasGrad { biasGrad[c] = Reductions.sum(gr, count: cols) }
        }
    }

    /// out[c·rows + n] block copies between per-sample `[n, c, p]` rows and channel-major
    /// `[c, n, p]` (p: `positions` values per channel): `toChannelMajor` false goes back.
    public static func transpose(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, channels: Int, positions: Int,
        toChannelMajor: Bool
    ) {
        for n in 0..<rows {
            for c in 0..<channels {
                let sampleMajor = (n * channels + c) * positions
                let channelMajor = (c * rows + n) * positions
                if toChannelMajor {
                    ShortCopy.copy(src + sampleMajor, dst + channelMajor, count: positions)
                } else {
                    ShortCopy.copy(src + channelMajor, dst + sampleMajor, count: positions)
                }
            }
        }
    }
}
