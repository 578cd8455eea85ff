import Linalg

/// sigma = softplus(rho) and its derivative sigmoid(rho), elementwise over a Bayesian layer's rho
/// tensors, in branch-free Float code the vectorizer keeps in SIMD registers (a step evaluates
/// them once per weight, as many values as the network has parameters).
enum WeightSigma {
    /// log(1 + exp(r)): max(r, 0) + log1p(exp(−|r|)), with log1p by its series where exp(−|r|)
    /// is small (log(1 + e) would keep only the digits of 1 + e, about 1e-5 relative at rho −5).
    @inline(__always)
    static func softplus(_ r: Float) -> Float {
        let e = FastMath.exp(-Swift.abs(r))
        let series = e * (1 - e * (0.5 - e * (1.0 / 3.0 - e * 0.25)))
        let l = e < 0.01 ? series : FastMath.log(1 + e)
        return Swift.max(r, 0) + l
    }

    @inline(__always)
    static func sigmoid(_ r: Float) -> Float {
        let e = FastMath.exp(-Swift.abs(r))
        let inv = 1 / (1 + e)
        return r >= 0 ? inv : e * inv
    }

    /// out[i] = softplus(rho[i])².
    static func variance(_ rho: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n {
            let s = softplus(rho[i])
            out[i] = s * s
        }
    }

    /// g[i] = dL/d(sigma²)[i] becomes dL/d(rho)[i] = g · 2·sigma·sigmoid(rho), in place.
    static func varianceToRho(_ g: UnsafeMutablePointer<Float>, rho: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n {
            let r = rho[i]
            g[i] *= 2 * softplus(r) * sigmoid(r)
        }
    }
}
