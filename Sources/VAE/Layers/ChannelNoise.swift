import Linalg

/// The elementwise half of the local reparameterization for layers whose output is channel-major
/// `[channels, rows·positions]` (Bayesian convolutions and transposed convolutions): the noise laid
/// out like the output, the output's standard deviation and noise added to its mean, and the
/// gradient with respect to its variance. Both layer kinds share it so their noise streams and
/// rounding are the same.
enum ChannelNoise {
    /// Row `r`'s `channels · positions` standard normals for `layer`, drawn in sample order through
    /// `sample` and spread into each channel's run of `eps`.
    static func fill(_ noise: WeightNoise, layer: Int, rows: Int, channels: Int, positions P: Int,
                     sample: UnsafeMutablePointer<Float>, into eps: UnsafeMutablePointer<Float>) {
        let n = rows * P
        for r in 0..<rows {
            noise.fill(row: r, layer: layer, into: sample, count: channels * P)
            for c in 0..<channels { (eps + c * n + r * P).update(from: sample + c * P, count: P) }
        }
    }

    /// `std` holds each output's variance from the weights; with its channel's bias variance it
    /// becomes the standard deviation in place, and `y += sd · eps`.
    static func addNoise(_ y: UnsafeMutablePointer<Float>, std: UnsafeMutablePointer<Float>, eps: UnsafePointer<Float>,
                         biasVariance: UnsafePointer<Float>, channels: Int, columns n: Int) {
        for c in 0..<channels {
            let s = std + c * n, e = eps + c * n, yc = y + c * n, bv = biasVariance[c]
            for k in 0..<n {
                let sd = FastMath.sqrt(Swift.max(s[k] + bv, 0))
                s[k] = sd
                yc[k] += sd * e[k]
            }
        }
    }

    /// dL/d(variance) = dy · eps / (2 sd); 0 where sd is 0 (sigma underflowed: no noise to move).
    static func varianceGradient(_ dy: UnsafePointer<Float>, std: UnsafePointer<Float>, eps: UnsafePointer<Float>,
                                 into dVar: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let sd = std[i]
            dVar[i] = sd > 0 ? dy[i] * eps[i] / (2 * sd) : 0
        }
    }

    /// The bias rho's gradient from dL/d(variance): each channel's sum, then through softplus.
    static func biasRhoGradient(_ dVar: UnsafePointer<Float>, channels: Int, columns n: Int, rho: UnsafePointer<Float>,
                                into g: UnsafeMutablePointer<Float>) {
        for c in 0..<channels { g[c] = Reductions.sum(dVar + c * n, count: n) }
        WeightSigma.varianceToRho(g, rho: rho, count: channels)
    }
}
