import Foundation
import Linalg

/// Components with a full covariance: `prior.means` `[K, latent]` and `prior.precision_cholesky`
/// `[K, latent, latent]`, for each component the lower-triangular P_k (row j, column i, j ≥ i)
/// with Σ_k⁻¹ = P_k P_kᵀ, its diagonal stored as ρ_ki = log P_k,ii and its upper triangle unused
/// (held at 0: its gradient is 0). With d = z − m_k and u = P_kᵀ d:
/// h_k(z) = ½ ‖u‖² − Σ_i ρ_ki.
///
/// Why the precision's factor and not the covariance's: the energy is then a triangular product,
/// not a triangular solve, in the step's hot loop, and its gradients are products too; the log of
/// the diagonal keeps P_k invertible whatever step Adam takes. Only draws from a component (the
/// export's) solve with P_kᵀ.
///
/// Why a full covariance at all: the encoder's means of a class are elongated along directions
/// the axes do not follow, and on Fashion-MNIST a full-covariance mixture fitted to them matches
/// the labels better than a diagonal one (README, GMVAE section); a diagonal prior would pull the
/// fitted clusters back towards its own axis-aligned shapes over the mixture epochs.
struct FullCovarianceComponents: MixtureComponents {
    let latent: Int
    let clusters: Int
    private let prior: UnsafePointer<Float>?
    /// `latent` floats: u of the last `accumulate`.
    private let scratch: FloatBuffer?

    init(latent: Int, clusters: Int) {
        self.latent = latent
        self.clusters = clusters
        prior = nil
        scratch = nil
    }

    private init(_ other: FullCovarianceComponents, prior: UnsafePointer<Float>) {
        latent = other.latent
        clusters = other.clusters
        self.prior = prior
        scratch = FloatBuffer(count: other.latent)
    }

    static let factorName = "prior.precision_cholesky"

    var declarations: [ParameterDeclaration] {
        [ParameterDeclaration(name: "prior.means", shape: [clusters, latent], initialization: .zeros),
         ParameterDeclaration(name: Self.factorName, shape: [clusters, latent, latent], initialization: .zeros)]
    }

    func bound(to parameters: UnsafePointer<Float>) -> FullCovarianceComponents {
        FullCovarianceComponents(self, prior: parameters)
    }

    private var means: UnsafePointer<Float> { prior! }
    private var factors: UnsafePointer<Float> { prior! + clusters * latent }

    @inline(__always)
    func energy(_ z: UnsafePointer<Float>, component k: Int) -> Float {
        let L = latent, m = means + k * L, F = factors + k * L * L
        var q: Float = 0, logDet: Float = 0
        for i in 0..<L {
            let rho = F[i * L + i]
            var u = FastMath.exp(rho) * (z[i] - m[i])
            for j in (i + 1)..<L { u += F[j * L + i] * (z[j] - m[j]) }
            q += u * u
            logDet += rho
        }
        return 0.5 * q - logDet
    }

    /// ∂h/∂z = P u = −∂h/∂m, ∂h/∂P_ji = u_i d_j (j > i), ∂h/∂ρ_i = u_i d_i P_ii − 1.
    @inline(__always)
    func accumulate(_ z: UnsafePointer<Float>, component k: Int, weight e: Float,
                    dz: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let L = latent, K = clusters
        let m = means + k * L, F = factors + k * L * L
        let gm = gradients + k * L, gF = gradients + K * L + k * L * L
        let u = scratch!.pointer
        for i in 0..<L {
            var s = FastMath.exp(F[i * L + i]) * (z[i] - m[i])
            for j in (i + 1)..<L { s += F[j * L + i] * (z[j] - m[j]) }
            u[i] = s
        }
        for j in 0..<L {
            let pjj = FastMath.exp(F[j * L + j])
            let d = z[j] - m[j]
            var w = pjj * u[j]
            for i in 0..<j {
                w += F[j * L + i] * u[i]
                gF[j * L + i] -= e * u[i] * d
            }
            gF[j * L + j] -= e * (u[j] * d * pjj - 1)
            dz[j] -= e * w
            gm[j] += e * w
        }
    }

    /// u = Pᵀ (z − m) in Double into `u`.
    private func transformed(_ z: UnsafePointer<Float>, component k: Int, into u: inout [Double]) {
        let L = latent, m = means + k * L, F = factors + k * L * L
        for i in 0..<L {
            var s = Foundation.exp(Double(F[i * L + i])) * (Double(z[i]) - Double(m[i]))
            for j in (i + 1)..<L { s += Double(F[j * L + i]) * (Double(z[j]) - Double(m[j])) }
            u[i] = s
        }
    }

    /// (P u)_j, in Double.
    private func applyFactor(_ u: [Double], component k: Int, row j: Int) -> Double {
        let L = latent, F = factors + k * L * L
        var w = Foundation.exp(Double(F[j * L + j])) * u[j]
        for i in 0..<j { w += Double(F[j * L + i]) * u[i] }
        return w
    }

    func energyInDouble(_ z: UnsafePointer<Float>, component k: Int) -> Double {
        let L = latent, m = means + k * L, F = factors + k * L * L
        var q = 0.0, logDet = 0.0
        for i in 0..<L {
            let rho = Double(F[i * L + i])
            var u = Foundation.exp(rho) * (Double(z[i]) - Double(m[i]))
            for j in (i + 1)..<L { u += Double(F[j * L + i]) * (Double(z[j]) - Double(m[j])) }
            q += u * u
            logDet += rho
        }
        return 0.5 * q - logDet
    }

    func energyGradient(_ z: UnsafePointer<Float>, component k: Int, into g: UnsafeMutablePointer<Double>) {
        var u = [Double](repeating: 0, count: latent)
        transformed(z, component: k, into: &u)
        for j in 0..<latent { g[j] = applyFactor(u, component: k, row: j) }
    }

    /// E ½ dᵀ Λ d = ½ (d̄ᵀ Λ d̄ + Σ_j Λ_jj σ_j²) with d̄ = mu − m and Λ = P Pᵀ; dimension j takes
    /// ½ (d̄_j (Λ d̄)_j + Λ_jj σ_j²) − ρ_j.
    func expectedEnergyPerDimension(mu: UnsafePointer<Float>, logvar: UnsafePointer<Float>, component k: Int,
                                    into out: UnsafeMutablePointer<Double>) {
        let L = latent, m = means + k * L, F = factors + k * L * L
        var u = [Double](repeating: 0, count: L)
        transformed(mu, component: k, into: &u)
        for j in 0..<L {
            let rho = Double(F[j * L + j])
            var diagonal = Foundation.exp(2 * rho)
            for i in 0..<j { diagonal += Double(F[j * L + i]) * Double(F[j * L + i]) }
            let d = Double(mu[j]) - Double(m[j])
            out[j] = 0.5 * (d * applyFactor(u, component: k, row: j) + diagonal * Foundation.exp(Double(logvar[j]))) - rho
        }
    }

    /// The strictly lower entries of every factor.
    func holdCorrelations(gradients: UnsafeMutablePointer<Float>) {
        let L = latent, gF = gradients + clusters * L
        for k in 0..<clusters { for j in 1..<max(L, 1) { (gF + (k * L + j) * L).update(repeating: 0, count: j) } }
    }

    /// x solving P_kᵀ x = noise has covariance (P_k P_kᵀ)⁻¹ = Σ_k: back substitution from the last
    /// dimension, then z = m_k + x.
    func draw(component k: Int, noise: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let L = latent, F = factors + k * L * L
        for i in stride(from: L - 1, through: 0, by: -1) {
            var s = Double(noise[i])
            for j in (i + 1)..<L { s -= Double(F[j * L + i]) * Double(out[j]) }
            out[i] = Float(s * Foundation.exp(-Double(F[i * L + i])))
        }
        for j in 0..<L { out[j] += means[k * L + j] }
    }
}
