import Foundation
import Linalg

/// q(z|x) = N(mu, L Lᵀ) with L lower-triangular and a positive diagonal, against the prior N(0, I):
/// a posterior whose latent dimensions may be correlated. z = mu + L·eps.
///
/// L = diag(s)·(I + U), U strictly lower: heads rows read `[mu (d) | h = log s² (d) | U (d(d−1)/2)]`,
/// U's entries row by row (entry (i, j), j < i, at i(i−1)/2 + j), from one `[2d + d(d−1)/2, in]`
/// GEMM: the three weights side by side, then the three biases (`encoder.mu.*`,
/// `encoder.logvar.*`, `encoder.lower.*`). L's entry (i, j) is s_i·u_ij.
///
/// The head emits log s², the diagonal head's logvar, not log s: Adam moves an output by about the
/// same amount a step whatever its gradient's scale, so a head emitting log s moved the scales
/// twice as fast as the diagonal model does. With U = 0 this block is the diagonal one operation
/// for operation, and U's tensors take no initialization key, so a full model whose U stayed zero
/// would take the diagonal model's steps exactly (the issue-17 note measured it: the same test
/// −ELBO to the printed digits over two epochs). Scaling row i of L by s_i keeps a dimension the
/// encoder makes precise (small s_i) precise whatever U holds; with L's lower entries emitted
/// directly, U's noisy gradients g_i·eps_j let every late dimension collect the variance of up
/// to d − 1 drifting entries.
///
/// The per-sample triangular products are loops over the packed rows eight lanes at a time, not
/// BLAS calls: at d = 32 one row is 496 multiply-adds, and `cblas_stpmv` / `cblas_sger` per row
/// (after unpacking into BLAS's packed or full layout) cost more in call overhead and copies than
/// the arithmetic (measured in the note of issue 17).
struct FullCovarianceGaussian: LatentBlock {
    let latent: Int
    /// Strictly lower entries of U (and of L).
    var lowerCount: Int { latent * (latent - 1) / 2 }
    var headWidth: Int { 2 * latent + lowerCount }
    var noiseWidth: Int { latent }
    var lossTermNames: [String] { ["kl"] }

    /// U's entries: held at zero, the block is the diagonal one.
    var heldHeadOutputs: Range<Int>? { lowerCount > 0 ? (2 * latent)..<headWidth : nil }

    func headParameters(inDim: Int) -> [ParameterDeclaration] {
        let d = latent
        let u = Initialization.uniform(fanIn: inDim)
        // U starts at zero and takes no initialization key, so every other tensor starts where the
        // diagonal model's does: the first steps are the diagonal model's, and the correlations
        // grow only as far as the data's gradients take them.
        return [
            ParameterDeclaration(name: "encoder.mu.weight", shape: [d, inDim], initialization: u),
            ParameterDeclaration(name: "encoder.logvar.weight", shape: [d, inDim], initialization: u),
            ParameterDeclaration(name: "encoder.lower.weight", shape: [lowerCount, inDim], initialization: .zeros,
                                 takesInitKey: false),
            ParameterDeclaration(name: "encoder.mu.bias", shape: [d], initialization: u),
            ParameterDeclaration(name: "encoder.logvar.bias", shape: [d], initialization: u),
            ParameterDeclaration(name: "encoder.lower.bias", shape: [lowerCount], initialization: .zeros,
                                 takesInitKey: false),
        ]
    }

    func fillNoise(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, into dst: UnsafeMutablePointer<Float>) {
        NoiseGenerator.fillGaussian(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: stream, into: dst, count: latent)
    }

    /// z_i = mu_i + s_i·w_i with w_i = eps_i + Σ_{j<i} u_ij·eps_j, s_i = exp(h_i / 2), and
    /// KL = ½ (‖L‖_F² + ‖mu‖² − d) − Σ log s_i = ½ Σ_i (mu_i² + s_i²·q_i − 1 − h_i), q_i = 1 + Σ_j u_ij².
    /// With U = 0 those are the diagonal model's operations in its order (h is its logvar), so z and
    /// the KL come out bit for bit the same.
    func sample(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, rows: Int,
                terms: inout LossTerms, first: Int) {
        let d = latent, H = headWidth
        var total = 0.0
        for r in 0..<rows {
            let mu = heads + r * H, lv = mu + d, lo = mu + 2 * d
            let e = noise + r * d, zr = z + r * d
            var kl: Float = 0
            for i in 0..<d {
                let s = FastMath.exp(0.5 * lv[i])
                let (acc, uu) = Self.dotAndSquares(lo + i * (i - 1) / 2, e, i)
                zr[i] = mu[i] + s * (e[i] + acc)
                kl += GaussianKL.dimension(mu: mu[i], logvar: lv[i], variance: s * s * (1 + uu))
            }
            total += Double(kl)
        }
        terms[first] = total
    }

    /// With g = dz and k = termScale: d/dmu = g + k·mu; d/dh_i = ½ (g_i·(z_i − mu_i) + k·(s_i²·q_i − 1));
    /// d/du_ij = s_i·g_i·eps_j + k·s_i²·u_ij: below the diagonal, the outer product g·epsᵀ scaled by
    /// row, plus the KL's pull on U. s_i² is exp(h_i) and z_i − mu_i stands for s_i·w_i, as in the
    /// diagonal block, so with U = 0 the gradients are the diagonal block's bit for bit.
    func backward(heads: UnsafePointer<Float>, noise: UnsafePointer<Float>, z: UnsafePointer<Float>,
                  dz: UnsafePointer<Float>, dheads: UnsafeMutablePointer<Float>, rows: Int, termScale k: Float,
                  headBiasGradient bias: UnsafeMutablePointer<Float>) {
        let d = latent, H = headWidth
        bias.update(repeating: 0, count: H)
        for r in 0..<rows {
            let mu = heads + r * H, lv = mu + d, lo = mu + 2 * d
            let e = noise + r * d, g = dz + r * d, zr = z + r * d
            let dmu = dheads + r * H, dlv = dmu + d, dlo = dmu + 2 * d
            for i in 0..<d {
                let s2 = FastMath.exp(lv[i])
                let base = i * (i - 1) / 2
                let uu = Self.squares(lo + base, i)
                Self.scaledPair(FastMath.exp(0.5 * lv[i]) * g[i], e, k * s2, lo + base,
                                into: dlo + base, adding: bias + 2 * d + base, i)
                let a = g[i] + k * mu[i]
                let b = 0.5 * (g[i] * (zr[i] - mu[i]) + k * (s2 * (1 + uu) - 1))
                dmu[i] = a
                dlv[i] = b
                bias[i] += a
                bias[d + i] += b
            }
        }
    }

    // The per-row loops, eight lanes at a time: Float sums are not vectorized by the compiler (it may
    // not reassociate), and rows are 0 to d − 1 long, so the lanes are explicit and a tail is scalar.
    @inline(__always)
    private static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// (Σ a_j·b_j, Σ a_j²) over n entries.
    @inline(__always)
    static func dotAndSquares(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
        var ab = SIMD8<Float>(repeating: 0), aa = SIMD8<Float>(repeating: 0)
        var j = 0
        while j + 8 <= n {
            let x = load8(a + j)
            ab += x * load8(b + j)
            aa += x * x
            j += 8
        }
        var sab = ab.sum(), saa = aa.sum()
        while j < n { sab += a[j] * b[j]; saa += a[j] * a[j]; j += 1 }
        return (sab, saa)
    }

    @inline(__always)
    static func squares(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var aa = SIMD8<Float>(repeating: 0)
        var j = 0
        while j + 8 <= n { let x = load8(a + j); aa += x * x; j += 8 }
        var saa = aa.sum()
        while j < n { saa += a[j] * a[j]; j += 1 }
        return saa
    }

    /// out_j = p·x_j + q·y_j, and sum_j += out_j, over n entries.
    @inline(__always)
    static func scaledPair(_ p: Float, _ x: UnsafePointer<Float>, _ q: Float, _ y: UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>, adding sum: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + 8 <= n {
            let v = p * load8(x + j) + q * load8(y + j)
            UnsafeMutableRawPointer(out + j).storeBytes(of: v, as: SIMD8<Float>.self)
            let t = load8(sum + j) + v
            UnsafeMutableRawPointer(sum + j).storeBytes(of: t, as: SIMD8<Float>.self)
            j += 8
        }
        while j < n {
            let v = p * x[j] + q * y[j]
            out[j] = v
            sum[j] += v
            j += 1
        }
    }

    // MARK: Evaluation

    func evaluationSample(head: UnsafePointer<Float>, noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>,
                          terms: inout LossTerms, first: Int) {
        let d = latent
        let mu = head, lv = head + d, lo = head + 2 * d
        var kl = 0.0
        for i in 0..<d {
            let m = Double(mu[i]), h = Double(lv[i])
            let s = Foundation.exp(0.5 * h)
            var acc = 0.0, uu = 0.0
            let row = lo + i * (i - 1) / 2
            for j in 0..<i {
                let v = Double(row[j])
                acc += v * Double(e[j])
                uu += v * v
            }
            zr[i] = Float(m + s * (Double(e[i]) + acc))
            kl += GaussianKL.dimension(mu: m, logvar: h, variance: s * s * (1 + uu))
        }
        terms[first] = kl
    }

    var importanceScratchWidth: Int { latent }

    /// The diagonal of L once per row; the constant is log det L = ½ Σ h.
    func prepareImportance(head: UnsafePointer<Float>, scratch s: UnsafeMutablePointer<Float>) -> Double {
        let lv = head + latent
        var sum = 0.0
        for i in 0..<latent {
            s[i] = FastMath.exp(0.5 * lv[i])
            sum += Double(lv[i])
        }
        return 0.5 * sum
    }

    /// log N(z; 0, I) − log N(z; mu, L Lᵀ) = −½‖z‖² + ½‖v‖² + log det L, with v = L⁻¹(z − mu) by
    /// forward substitution through I + U after dividing by s (the 2π constants cancel). v is eps
    /// up to rounding; solving for it makes the weight the density of the z the decoder sees.
    func importanceLogRatio(head mu: UnsafePointer<Float>, scratch s: UnsafePointer<Float>, constant: Double,
                            noise e: UnsafePointer<Float>, z zr: UnsafeMutablePointer<Float>) -> Double {
        let d = latent
        let lo = mu + 2 * d
        for i in 0..<d {
            let (acc, _) = Self.dotAndSquares(lo + i * (i - 1) / 2, e, i)
            zr[i] = mu[i] + s[i] * (e[i] + acc)
        }
        // v is scratch of this sample alone: on the stack, so the IWAE loop allocates nothing.
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { vb in
            let v = vb.baseAddress!
            var zz: Float = 0, vv: Float = 0
            for i in 0..<d {
                let (acc, _) = Self.dotAndSquares(lo + i * (i - 1) / 2, v, i)
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
        let row = head + 2 * latent + i * (i - 1) / 2
        var q: Float = 1
        for j in 0..<i { q += row[j] * row[j] }
        return FastMath.exp(head[latent + i]) * q
    }

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
            let s = Foundation.exp(0.5 * Double(head[d + i]))
            let row = head + 2 * d + i * (i - 1) / 2
            l[i * d + i] = s
            for j in 0..<i { l[i * d + j] = s * Double(row[j]) }
        }
    }
}
