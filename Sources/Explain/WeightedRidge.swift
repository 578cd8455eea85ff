import Linalg

/// Weighted ridge regression in closed form: minimises
///   sum_s w_s (y_s - b - z_s . beta)^2 + lambda |beta|^2
/// (the intercept b is not penalised) through the normal equations
///   (A^T A + lambda I') [b; beta] = A^T y,   A = diag(sqrt(w)) [1 Z],
/// in Double, one Cholesky factorisation shared by every target of the same perturbations.
public enum WeightedRidge {
    /// The reference implementation's default penalty (scikit-learn's Ridge(alpha=1)): next to
    /// the total kernel weight of 1,000 perturbations (about 250) it barely shrinks a coefficient
    /// the data determine, and keeps the system solvable when a segment is constant (kept in
    /// every mask, or identical to the baseline).
    public static let defaultLambda = 1.0

    public struct Fit: Equatable {
        /// targets x features, row-major.
        public var coefficients: [Double]
        public var intercepts: [Double]
        /// Weighted R^2 per target: 1 - sum w (y - yhat)^2 / sum w (y - ybar_w)^2; NaN for a target
        /// that does not vary over the perturbations.
        public var r2: [Double]
        public let features: Int

        public func coefficients(target t: Int) -> ArraySlice<Double> {
            coefficients[(t * features)..<((t + 1) * features)]
        }
    }

    /// `z`: rows x features; `y`: rows x targets (row-major); `w`: rows positive weights.
    public static func fit(z: [Float], y: [Float], weights w: [Double], rows S: Int, features M: Int, targets T: Int,
                           lambda: Double = defaultLambda) throws -> Fit {
        precondition(z.count == S * M && y.count == S * T && w.count == S, "WeightedRidge.fit: sizes do not match")
        let P = M + 1
        var a = [Double](repeating: 0, count: S * P), b = [Double](repeating: 0, count: S * T)
        for s in 0..<S {
            let r = w[s].squareRoot()
            a[s * P] = r
            for j in 0..<M { a[s * P + 1 + j] = r * Double(z[s * M + j]) }
            for t in 0..<T { b[s * T + t] = r * Double(y[s * T + t]) }
        }
        var g = [Double](repeating: 0, count: P * P), rhs = [Double](repeating: 0, count: P * T)
        DoubleGemm.dgemm(transA: true, transB: false, m: P, n: P, k: S, alpha: 1, a: a, lda: P, b: a, ldb: P, beta: 0, c: &g, ldc: P)
        DoubleGemm.dgemm(transA: true, transB: false, m: P, n: T, k: S, alpha: 1, a: a, lda: P, b: b, ldb: T, beta: 0, c: &rhs, ldc: T)
        for j in 1..<P { g[j * P + j] += lambda }
        let beta = try solveCholesky(g, rhs, n: P, columns: T)

        // Weighted residuals: sqrt(w) (y - yhat) = B - A beta.
        var residual = b
        DoubleGemm.dgemm(transA: false, transB: false, m: S, n: T, k: P, alpha: -1, a: a, lda: P, b: beta, ldb: T,
                         beta: 1, c: &residual, ldc: T)
        let wSum = w.reduce(0, +)
        var r2 = [Double](repeating: .nan, count: T)
        for t in 0..<T {
            var mean = 0.0
            for s in 0..<S { mean += w[s] * Double(y[s * T + t]) }
            mean /= wSum
            var total = 0.0, left = 0.0
            for s in 0..<S {
                let c = Double(y[s * T + t]) - mean
                total += w[s] * c * c
                left += residual[s * T + t] * residual[s * T + t]
            }
            r2[t] = total > 0 ? 1 - left / total : .nan
        }
        var coefficients = [Double](repeating: 0, count: T * M), intercepts = [Double](repeating: 0, count: T)
        for t in 0..<T {
            intercepts[t] = beta[t]
            for j in 0..<M { coefficients[t * M + j] = beta[(1 + j) * T + t] }
        }
        return Fit(coefficients: coefficients, intercepts: intercepts, r2: r2, features: M)
    }

    /// Solves G X = R for symmetric positive definite G (n x n) and R (n x columns).
    static func solveCholesky(_ g: [Double], _ r: [Double], n: Int, columns: Int) throws -> [Double] {
        // Relative to the diagonal: rounding leaves a dependent column a pivot of about 1e-16 of
        // it instead of 0.
        let l: [Double]
        switch Cholesky.factor(g, n: n, relativePivotFloor: 1e-12) {
        case .lower(let factor): l = factor
        case .singular(let i, let s):
            throw ExplainError("LIME: the surrogate's normal equations are singular (pivot \(i) of \(n) is \(s)); use a ridge penalty above 0 or more perturbations")
        }
        var x = r
        for c in 0..<columns {
            for i in 0..<n {
                var s = x[i * columns + c]
                for k in 0..<i { s -= l[i * n + k] * x[k * columns + c] }
                x[i * columns + c] = s / l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {
                var s = x[i * columns + c]
                for k in (i + 1)..<n { s -= l[k * n + i] * x[k * columns + c] }
                x[i * columns + c] = s / l[i * n + i]
            }
        }
        return x
    }
}
