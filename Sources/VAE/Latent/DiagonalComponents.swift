import Foundation
import Linalg

/// Components N(m_k, diag exp(lv_k)): `prior.means` and `prior.logvars`, `[K, latent]` each.
/// h_k(z) = ½ Σ_j ((z_j − m_kj)² / v_kj + lv_kj).
struct DiagonalComponents: MixtureComponents {
    let latent: Int
    let clusters: Int
    private let prior: UnsafePointer<Float>?

    init(latent: Int, clusters: Int) {
        self.latent = latent
        self.clusters = clusters
        prior = nil
    }

    private init(_ other: DiagonalComponents, prior: UnsafePointer<Float>) {
        latent = other.latent
        clusters = other.clusters
        self.prior = prior
    }

    var declarations: [ParameterDeclaration] {
        [ParameterDeclaration(name: "prior.means", shape: [clusters, latent], initialization: .zeros),
         ParameterDeclaration(name: "prior.logvars", shape: [clusters, latent], initialization: .zeros)]
    }

    func bound(to parameters: UnsafePointer<Float>) -> DiagonalComponents { DiagonalComponents(self, prior: parameters) }

    private var means: UnsafePointer<Float> { prior! }
    private var logvars: UnsafePointer<Float> { prior! + clusters * latent }

    @inline(__always)
    func energy(_ z: UnsafePointer<Float>, component k: Int) -> Float {
        let L = latent, m = means + k * L, lv = logvars + k * L
        var s: Float = 0
        for j in 0..<L {
            let d = z[j] - m[j]
            s += d * d * FastMath.exp(-lv[j]) + lv[j]
        }
        return 0.5 * s
    }

    /// ∂h/∂z_j = t_j = (z_j − m_j)/v_j, ∂h/∂m_j = −t_j, ∂h/∂lv_j = ½ (1 − (z_j − m_j) t_j).
    @inline(__always)
    func accumulate(_ z: UnsafePointer<Float>, component k: Int, weight e: Float,
                    dz: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let L = latent, K = clusters
        let m = means + k * L, plv = logvars + k * L
        let gm = gradients + k * L, glv = gradients + K * L + k * L
        for j in 0..<L {
            let iv = FastMath.exp(-plv[j])
            let d = z[j] - m[j]
            let t = d * iv
            dz[j] -= e * t
            gm[j] += e * t
            glv[j] += 0.5 * e * (d * t - 1)
        }
    }

    func energyInDouble(_ z: UnsafePointer<Float>, component k: Int) -> Double {
        let L = latent, m = means + k * L, lv = logvars + k * L
        var s = 0.0
        for j in 0..<L {
            let d = Double(z[j]) - Double(m[j])
            s += d * d * Foundation.exp(-Double(lv[j])) + Double(lv[j])
        }
        return 0.5 * s
    }

    func energyGradient(_ z: UnsafePointer<Float>, component k: Int, into g: UnsafeMutablePointer<Double>) {
        let L = latent
        for j in 0..<L {
            g[j] = (Double(z[j]) - Double(means[k * L + j])) * Foundation.exp(-Double(logvars[k * L + j]))
        }
    }

    /// ½ (lv_kj + (σ_j² + (mu_j − m_kj)²) / v_kj).
    func expectedEnergyPerDimension(mu: UnsafePointer<Float>, logvar: UnsafePointer<Float>, component k: Int,
                                    into out: UnsafeMutablePointer<Double>) {
        let L = latent
        for j in 0..<L {
            let pv = Double(logvars[k * L + j])
            let d = Double(mu[j]) - Double(means[k * L + j])
            out[j] = 0.5 * (pv + (Foundation.exp(Double(logvar[j])) + d * d) * Foundation.exp(-pv))
        }
    }

    func holdCorrelations(gradients: UnsafeMutablePointer<Float>) {}

    func draw(component k: Int, noise: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let L = latent
        for j in 0..<L { out[j] = means[k * L + j] + Foundation.exp(0.5 * logvars[k * L + j]) * noise[j] }
    }
}
