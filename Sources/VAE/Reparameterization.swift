import Linalg

/// z = mu + exp(logvar/2)·eps and the analytic KL(N(mu, σ²) ‖ N(0, I)), forward and backward.
/// Heads rows are `[mu (latent) | logvar (latent)]`.
enum Reparameterization {
    /// Writes z and returns Σ_rows KL = Σ 0.5·(mu² + σ² − 1 − logvar).
    static func sample(
        heads: UnsafePointer<Float>, eps: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
        rows: Int, latent L: Int
    ) -> Double {
        var total = 0.0
        for i in 0..<rows {
            let mu = heads + i * 2 * L, lv = mu + L
            let e = eps + i * L, zr = z + i * L
            var kl: Float = 0
            for j in 0..<L {
                let sigma = FastMath.exp(0.5 * lv[j])
                zr[j] = mu[j] + sigma * e[j]
                kl += GaussianKL.dimension(mu: mu[j], logvar: lv[j], variance: sigma * sigma)
            }
            total += Double(kl)
        }
        return total
    }

    /// KL of each latent dimension, `[rows, latent]`.
    static func perDimensionKL(heads: UnsafePointer<Float>, rows: Int, latent L: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            let mu = heads + i * 2 * L, lv = mu + L
            for j in 0..<L {
                out[i * L + j] = GaussianKL.dimension(mu: mu[j], logvar: lv[j], variance: FastMath.exp(lv[j]))
            }
        }
    }

    /// dheads from dz (already scaled) and the KL term scaled by `klScale`; also the heads' bias
    /// gradient (Σ over rows, overwritten, `2·latent` values).
    ///
    /// d/dmu = dz + k·mu; d/dlogvar = dz·0.5·σ·eps + k·0.5·(σ² − 1), with σ·eps = z − mu.
    static func backward(
        heads: UnsafePointer<Float>, eps: UnsafePointer<Float>, z: UnsafePointer<Float>,
        dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, latent L: Int,
        klScale k: Float, biasGrad: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<(2 * L) { biasGrad[j] = 0 }
        for i in 0..<rows {
            let mu = heads + i * 2 * L, lv = mu + L
            let zr = z + i * L, g = dz + i * L
            let dmu = dheads + i * 2 * L, dlv = dmu + L
            for j in 0..<L {
                let sigma2 = FastMath.exp(lv[j])
                let a = g[j] + k * mu[j]
                let b = 0.5 * (g[j] * (zr[j] - mu[j]) + k * (sigma2 - 1))
                dmu[j] = a
                dlv[j] = b
                biasGrad[j] += a
                biasGrad[L + j] += b
            }
        }
    }
}
