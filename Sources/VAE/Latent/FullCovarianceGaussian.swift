import Foundation
import Linalg

/// q(z|x) = N(mu, L Lᵀ) with L lower-triangular and a positive diagonal, against the prior N(0, I):
/// a posterior whose latent dimensions may be correlated. z = mu + L·eps.
///
/// L = diag(s)·(I + U), U strictly lower: heads rows read `[mu (d) | log s (d) | U (d(d−1)/2)]`,
/// U's entries row by row (entry (i, j), j < i, at i(i−1)/2 + j), from one `[2d + d(d−1)/2, in]`
/// GEMM: the three weights side by side, then the three biases (`encoder.mu.*`,
/// `encoder.logdiag.*`, `encoder.lower.*`). L's entry (i, j) is s_i·u_ij. Scaling row i of L by
/// its diagonal is what makes the family train as well as the diagonal one: with L's lower
/// entries emitted directly, their gradients g_i·eps_j are almost pure noise, Adam lets them
/// drift, and every late dimension collects the variance of up to d − 1 drifting entries, so the
/// dimensions the decoder needs precise lose their precision (on Fashion-MNIST, d = 32: test
/// −ELBO 247.0 against the diagonal model's 242.3). Scaled, a dimension the encoder makes
/// precise (small s_i) is precise whatever U holds.
///
/// The per-sample triangular products are a tight loop over the packed entries, not BLAS calls:
/// at d = 32 one row is 496 multiply-adds, and `cblas_stpmv` / `cblas_sger` per row (after
/// unpacking into BLAS's packed or full layout) cost more in call overhead and copies than the
/// arithmetic (measured in the note of issue 17).
struct FullCovarianceGaussian: LatentBlock {
    let latent: Int
    /// Strictly lower entries of U (and of L).
    var lowerCount: Int { latent * (latent - 1) / 2 }
    var headWidth: Int { 2 * latent + lowerCount }
    var noiseWidth: Int { latent }
    var lossTermNames: [String] { ["kl"] }

    func headParameters(inDim: Int) -> [ParameterDeclaration] {
        let d = latent
        let u = Initialization.uniform(fanIn: inDim)
        // U starts at zero: the first steps are the diagonal model's, and the correlations grow
        // only as far as the data's gradients take them.
        return [
            ParameterDeclaration(name: "encoder.mu.weight", shape: [d, inDim], initialization: u),
            ParameterDeclaration(name: "encoder.logdiag.weight", shape: [d, inDim], initialization: u),
            ParameterDeclaration(name: "encoder.lower.weight", shape: [lowerCount, inDim], initialization: .zeros),
            ParameterDeclaration(name: "encoder.mu.bias", shape: [d], initialization: u),
            ParameterDeclaration(name: "encoder.logdiag.bias", shape: [d], initialization: u),
            ParameterDeclaration(name: "encoder.lower.bias", shape: [lowerCount], initialization: .zeros),
        ]
    }

    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into dst: UnsafeMutablePointer<Float>) {
        NoiseGenerator.fillGaussian(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: stream, into: dst, count: latent)
    }

    /// z_i = mu_i + s_i·w_i with w_i = eps_i + Σ_{j<i} u_ij·eps_j, and
    /// KL = ½ (‖L‖_F² + ‖mu‖² − d) − Σ log s_i = ½ Σ_i (mu_i² + s_i²·(1 + Σ_j u_ij²) − 1 − 2 log s_i).
    /// With U = 0 and log s = logvar / 2 those are the diagonal model's operations in its order,
    /// so z and the KL come out bit for bit the same.
    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int,
                terms: inout LossTerms, first: Int) {
        let d = latent, H = headWidth
        var total = 0.0
        for r in 0..<rows {
            let mu = heads + r * H, ld = mu + d, lo = mu + 2 * d
            let e = noise + r * d, zr = z + r * d
            var kl: Float = 0
            for i in 0..<d {
                let s = FastMath.exp(ld[i])
                let row = lo + i * (i - 1) / 2
                var acc: Float = 0, uu: Float = 0
                for j in 0..<i {
                    acc += row[j] * e[j]
                    uu += row[j] * row[j]
                }
                zr[i] = mu[i] + s * (e[i] + acc)
                kl += mu[i] * mu[i] + s * s * (1 + uu) - 1 - 2 * ld[i]
            }
            total += 0.5 * Double(kl)
        }
        terms[first] = total
    }

    /// With g = dz and k = termScale: d/dmu = g + k·mu; d/dlog s_i = g_i·s_i·w_i + k·(s_i²·q_i − 1)
    /// (q_i = 1 + Σ_j u_ij²); d/du_ij = s_i·(g_i·eps_j + k·s_i·u_ij): below the diagonal, the outer
    /// product g·epsᵀ scaled by row.
    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale k: Float,
                  headBiasGradient bias: UnsafeMutablePointer<Float>) {
        let d = latent, H = headWidth
        bias.update(repeating: 0, count: H)
        for r in 0..<rows {
            let mu = heads + r * H, ld = mu + d, lo = mu + 2 * d
            let e = noise + r * d, g = dz + r * d
            let dmu = dheads + r * H, dld = dmu + d, dlo = dmu + 2 * d
            for i in 0..<d {
                let s = FastMath.exp(ld[i])
                let base = i * (i - 1) / 2
                let gs = g[i] * s, ks2 = k * s * s
                var acc: Float = 0, uu: Float = 0
                for j in 0..<i {
                    let u = lo[base + j]
                    acc += u * e[j]
                    uu += u * u
                    let c = gs * e[j] + ks2 * u
                    dlo[base + j] = c
                    bias[2 * d + base + j] += c
                }
                let a = g[i] + k * mu[i]
                let b = gs * (e[i] + acc) + k * (s * s * (1 + uu) - 1)
                dmu[i] = a
                dld[i] = b
                bias[i] += a
                bias[d + i] += b
            }
        }
    }

    // MARK: Evaluation

    func evaluationSample(head: UnsafePointer<Float>, noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>,
                          terms: inout LossTerms, first: Int) {
        let d = latent
        let mu = head, ld = head + d, lo = head + 2 * d
        var kl = 0.0
        for i in 0..<d {
            let m = Double(mu[i]), l = Double(ld[i])
            let s = Foundation.exp(l)
            var acc = 0.0, uu = 0.0
            let row = lo + i * (i - 1) / 2
            for j in 0..<i {
                let v = Double(row[j])
                acc += v * Double(e[j])
                uu += v * v
            }
            zr[i] = Float(m + s * (Double(e[i]) + acc))
            kl += 0.5 * (m * m + s * s * (1 + uu) - 1) - l
        }
        terms[first] = kl
    }

    var importanceScratchWidth: Int { latent }

    /// The diagonal of L once per row; the constant is log det L = Σ log s.
    func prepareImportance(head: UnsafePointer<Float>, scratch s: UnsafeMutablePointer<Float>) -> Double {
        let ld = head + latent
        var sum = 0.0
        for i in 0..<latent {
            s[i] = FastMath.exp(ld[i])
            sum += Double(ld[i])
        }
        return sum
    }

    /// log N(z; 0, I) − log N(z; mu, L Lᵀ) = −½‖z‖² + ½‖v‖² + log det L, with v = L⁻¹(z − mu) by
    /// forward substitution through I + U after dividing by s (the 2π constants cancel). v is eps
    /// up to rounding; solving for it makes the weight the density of the z the decoder sees.
    func importanceLogRatio(head mu: UnsafePointer<Float>, scratch s: UnsafePointer<Float>, constant: Double,
                            noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>) -> Double {
        let d = latent
        let lo = mu + 2 * d
        for i in 0..<d {
            let row = lo + i * (i - 1) / 2
            var acc: Float = 0
            for j in 0..<i { acc += row[j] * e[j] }
            zr[i] = mu[i] + s[i] * (e[i] + acc)
        }
        // v is scratch of this sample alone: on the stack, so the IWAE loop allocates nothing.
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { v in
            var zz: Float = 0, vv: Float = 0
            for i in 0..<d {
                let row = lo + i * (i - 1) / 2
                var acc: Float = 0
                for j in 0..<i { acc += row[j] * v[j] }
                let vi = (zr[i] - mu[i]) / s[i] - acc
                v[i] = vi
                vv += vi * vi
                zz += zr[i] * zr[i]
            }
            return 0.5 * Double(vv - zz) + constant
        }
    }

    // MARK: What the export reads

    /// Variance of dimension i's marginal: s_i²·(1 + Σ_{j<i} u_ij²) (row i of L Lᵀ's diagonal).
    private func marginalVariance(_ head: UnsafePointer<Float>, _ i: Int) -> Float {
        let s = FastMath.exp(head[latent + i])
        let row = head + 2 * latent + i * (i - 1) / 2
        var q: Float = 1
        for j in 0..<i { q += row[j] * row[j] }
        return s * s * q
    }

    /// KL of each dimension's marginal posterior to N(0, 1). These sum to the KL less the
    /// posterior's multi-information −½ log det R (R its correlation matrix), so a row's sum is
    /// at most the KL, equal when L is diagonal.
    func perDimensionTerm(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let d = latent, H = headWidth
        for r in 0..<rows {
            let h = heads + r * H
            for i in 0..<d {
                let v = marginalVariance(h, i)
                out[r * d + i] = 0.5 * (h[i] * h[i] + v - 1 - FastMath.log(v))
            }
        }
    }

    func posteriorMeans(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (out + r * latent).update(from: heads + r * headWidth, count: latent) }
    }

    func posteriorLogVariances(heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let d = latent, H = headWidth
        for r in 0..<rows {
            for i in 0..<d { out[r * d + i] = FastMath.log(marginalVariance(heads + r * H, i)) }
        }
    }

    func meanHeadIndex(dimension: Int) -> Int { dimension }

    /// The posterior's correlation matrix, `d x d` row-major, and L itself (`d x d`, zeros above
    /// the diagonal): what the export's correlation pictures and principal-axis traversals read.
    var posteriorExtras: [PosteriorExtra] {
        [PosteriorExtra(name: Self.correlationExtra, width: latent * latent),
         PosteriorExtra(name: Self.choleskyExtra, width: latent * latent)]
    }
    static let correlationExtra = "posterior_correlation"
    static let choleskyExtra = "posterior_cholesky"

    func posteriorExtra(_ index: Int, heads: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let d = latent, H = headWidth
        precondition(index == 0 || index == 1, "FullCovarianceGaussian has posterior extras 0 and 1, not \(index)")
        var l = [Double](repeating: 0, count: d * d)
        for r in 0..<rows {
            let h = heads + r * H
            Self.unpack(head: h, latent: d, into: &l)
            let dst = out + r * d * d
            if index == 1 {
                for i in 0..<(d * d) { dst[i] = Float(l[i]) }
                continue
            }
            // Σ = L Lᵀ in Double, then R = D^{-1/2} Σ D^{-1/2}.
            var sd = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var v = 0.0
                for k in 0...i { v += l[i * d + k] * l[i * d + k] }
                sd[i] = v.squareRoot()
            }
            for i in 0..<d {
                for j in 0...i {
                    var c = 0.0
                    for k in 0...j { c += l[i * d + k] * l[j * d + k] }
                    let rho = i == j ? 1 : c / (sd[i] * sd[j])
                    dst[i * d + j] = Float(rho)
                    dst[j * d + i] = Float(rho)
                }
            }
        }
    }

    /// L as a full `d x d` row-major matrix in Double.
    static func unpack(head: UnsafePointer<Float>, latent d: Int, into l: inout [Double]) {
        for i in 0..<(d * d) { l[i] = 0 }
        for i in 0..<d {
            let s = Foundation.exp(Double(head[d + i]))
            l[i * d + i] = s
            let row = head + 2 * d + i * (i - 1) / 2
            for j in 0..<i { l[i * d + j] = s * Double(row[j]) }
        }
    }
}
