import Foundation
import Linalg

/// EM of a Gaussian mixture with full covariances, in Double, on `n` points of `d` values: what
/// `MixtureFit` runs for a GMVAE whose components have full covariances, once per run; the
/// products over all points are dgemms.
enum FullCovarianceEM {
    struct Mixture {
        var weights: [Double]
        /// `[k, d]`.
        var means: [Double]
        /// `[k, d, d]`, symmetric.
        var covariances: [Double]
    }

    /// Added to every covariance's diagonal, so a component on a few (or collinear) points stays
    /// positive definite; scikit-learn's `reg_covar` default.
    static let ridge = 1e-6

    /// The weights, means and covariances of hard clusters; an empty cluster keeps `centers`' row
    /// and the unit covariance.
    static func moments(_ x: [Double], n: Int, d: Int, k: Int, assign: [Int], centers: [Double]) -> Mixture {
        var m = Mixture(weights: [Double](repeating: 0, count: k), means: centers,
                        covariances: [Double](repeating: 0, count: k * d * d))
        var sizes = [Double](repeating: 0, count: k)
        var s1 = [Double](repeating: 0, count: k * d), s2 = [Double](repeating: 0, count: k * d * d)
        for i in 0..<n {
            let c = assign[i]
            sizes[c] += 1
            accumulate(x, i, d: d, weight: 1, s1: &s1, s2: &s2, component: c)
        }
        for c in 0..<k {
            m.weights[c] = max(sizes[c], 1) / Double(n)
            finish(&m, c, d: d, total: sizes[c], s1: s1, s2: s2)
        }
        return m
    }

    /// Σ w x and Σ w x xᵀ (lower triangle) of component `c`.
    @inline(__always)
    private static func accumulate(_ x: [Double], _ i: Int, d: Int, weight w: Double, s1: inout [Double], s2: inout [Double],
                                   component c: Int) {
        for a in 0..<d {
            let xa = w * x[i * d + a]
            s1[c * d + a] += xa
            for b in 0...a { s2[(c * d + a) * d + b] += xa * x[i * d + b] }
        }
    }

    /// Mean and covariance of component `c` from its sums; one with no weight keeps what it had
    /// (the unit covariance when it never had one).
    private static func finish(_ m: inout Mixture, _ c: Int, d: Int, total: Double, s1: [Double], s2: [Double]) {
        guard total > 1e-9 else {
            if m.covariances[(c * d) * d] == 0 { for a in 0..<d { m.covariances[(c * d + a) * d + a] = 1 } }
            return
        }
        for a in 0..<d { m.means[c * d + a] = s1[c * d + a] / total }
        for a in 0..<d {
            for b in 0...a {
                let v = s2[(c * d + a) * d + b] / total - m.means[c * d + a] * m.means[c * d + b] + (a == b ? ridge : 0)
                m.covariances[(c * d + a) * d + b] = v
                m.covariances[(c * d + b) * d + a] = v
            }
        }
    }

    /// `steps` EM steps from `mixture`; returns the mean log-likelihood of the points under the
    /// final mixture (without the 2π constant) and each point's most responsible component. The
    /// per-component products (Pᵀ(x − m) for every point, the weighted scatter Σ r x xᵀ) are
    /// dgemms: in plain loops 100 steps of 8 restarts took over a minute on 60000 points.
    static func run(_ x: [Double], n: Int, d: Int, k: Int, mixture m: inout Mixture, steps: Int)
    -> (logLikelihood: Double, assign: [Int]) {
        var assign = [Int](repeating: 0, count: n)
        var r = [Double](repeating: 0, count: n * k)          // log densities, then responsibilities
        var centred = [Double](repeating: 0, count: n * d), u = centred
        var scatter = [Double](repeating: 0, count: d * d)
        var logLikelihood = -Double.infinity
        for step in 0...steps {
            for c in 0..<k {
                let p = precisionFactor(Array(m.covariances[(c * d * d)..<((c + 1) * d * d)]), d: d)
                var logNorm = Foundation.log(max(m.weights[c], 1e-12))
                for a in 0..<d { logNorm += Foundation.log(p[a * d + a]) }
                for i in 0..<n { for a in 0..<d { centred[i * d + a] = x[i * d + a] - m.means[c * d + a] } }
                // u_i = Pᵀ (x_i − m): row i of (X − m) P.
                centred.withUnsafeBufferPointer { cp in
                    p.withUnsafeBufferPointer { pp in
                        u.withUnsafeMutableBufferPointer { up in
                            DoubleGemm.dgemm(transA: false, transB: false, m: n, n: d, k: d, alpha: 1, a: cp.baseAddress!, lda: d,
                                             b: pp.baseAddress!, ldb: d, beta: 0, c: up.baseAddress!, ldc: d)
                        }
                    }
                }
                for i in 0..<n {
                    var q = 0.0
                    for a in 0..<d { q += u[i * d + a] * u[i * d + a] }
                    r[i * k + c] = logNorm - 0.5 * q
                }
            }
            var total = 0.0
            for i in 0..<n {
                var top = -Double.infinity, arg = 0
                for c in 0..<k where r[i * k + c] > top { top = r[i * k + c]; arg = c }
                assign[i] = arg
                var z = 0.0
                for c in 0..<k { r[i * k + c] = Foundation.exp(r[i * k + c] - top); z += r[i * k + c] }
                total += top + Foundation.log(z)
                for c in 0..<k { r[i * k + c] /= z }
            }
            logLikelihood = total / Double(n)
            guard step < steps else { break }
            var s1 = [Double](repeating: 0, count: k * d), s2 = [Double](repeating: 0, count: k * d * d)
            for c in 0..<k {
                var sw = 0.0
                for i in 0..<n {
                    let w = r[i * k + c]
                    sw += w
                    for a in 0..<d { centred[i * d + a] = w * x[i * d + a]; s1[c * d + a] += centred[i * d + a] }
                }
                // Σ_i w_i x_i x_iᵀ = (w ∘ X)ᵀ X.
                centred.withUnsafeBufferPointer { wp in
                    x.withUnsafeBufferPointer { xp in
                        scatter.withUnsafeMutableBufferPointer { sp in
                            DoubleGemm.dgemm(transA: true, transB: false, m: d, n: d, k: n, alpha: 1, a: wp.baseAddress!, lda: d,
                                             b: xp.baseAddress!, ldb: d, beta: 0, c: sp.baseAddress!, ldc: d)
                        }
                    }
                }
                for t in 0..<(d * d) { s2[c * d * d + t] = scatter[t] }
                if sw > 1e-9 { m.weights[c] = sw / Double(n) }
                finish(&m, c, d: d, total: sw, s1: s1, s2: s2)
            }
        }
        return (logLikelihood, assign)
    }

    /// The lower-triangular C with C Cᵀ = a (`[d, d]`, symmetric positive definite); nil when a
    /// pivot is not positive.
    static func cholesky(_ a: [Double], d: Int) -> [Double]? {
        if case .lower(let c) = Cholesky.factor(a, n: d) { return c }
        return nil
    }

    /// The lower-triangular P with P Pᵀ = covariance⁻¹, the precision's Cholesky factor. A
    /// covariance that is not numerically positive definite gets a growing ridge until it is.
    static func precisionFactor(_ covariance: [Double], d: Int) -> [Double] {
        guard covariance.allSatisfy(\.isFinite) else {
            return (0..<(d * d)).map { $0 / d == $0 % d ? 1 : 0 }
        }
        var a = covariance
        var jitter = 0.0
        var lower = cholesky(a, d: d)
        while lower == nil {
            var trace = 0.0
            for t in 0..<d { trace += abs(covariance[t * d + t]) }
            jitter = jitter == 0 ? max(1e-9, 1e-9 * trace / Double(d)) : 10 * jitter
            a = covariance
            for t in 0..<d { a[t * d + t] += jitter }
            lower = cholesky(a, d: d)
        }
        // C⁻¹ by forward substitution, then covariance⁻¹ = C⁻ᵀ C⁻¹ and its own factor.
        let c = lower!
        var inv = [Double](repeating: 0, count: d * d)
        for col in 0..<d {
            for i in col..<d {
                var s = i == col ? 1.0 : 0.0
                for t in col..<i { s -= c[i * d + t] * inv[t * d + col] }
                inv[i * d + col] = s / c[i * d + i]
            }
        }
        var precision = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = 0.0
                for t in i..<d { s += inv[t * d + i] * inv[t * d + j] }
                precision[i * d + j] = s
                precision[j * d + i] = s
            }
        }
        // The inverse of a positive definite matrix is one; rounding aside, a ridge settles it.
        if let p = cholesky(precision, d: d) { return p }
        var r = precision
        var ridge = 1e-12
        while true {
            for t in 0..<d { r[t * d + t] = precision[t * d + t] * (1 + ridge) }
            if let p = cholesky(r, d: d) { return p }
            ridge *= 10
        }
    }
}
