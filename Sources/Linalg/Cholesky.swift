/// The Cholesky factorization in Double of a small symmetric positive definite matrix, for the
/// explanation's normal equations and the mixture fit's covariances: row-major, lower triangle.
public enum Cholesky {
    public enum Factor: Equatable {
        /// L with L Lᵀ = a, `[n, n]`, zeros above the diagonal.
        case lower([Double])
        /// Pivot `index` came out at `value`: not above the floor, or not finite.
        case singular(index: Int, value: Double)
    }

    /// Factors `a` (`[n, n]`, only its lower triangle read). A pivot must be finite and above
    /// `relativePivotFloor` times its diagonal entry of `a`: 0 asks only for a positive pivot; a
    /// small floor treats a pivot that rounding left at about 1e-16 of its diagonal as the 0 it is.
    public static func factor(_ a: [Double], n: Int, relativePivotFloor: Double = 0) -> Factor {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > relativePivotFloor * abs(a[i * n + i]), s.isFinite else { return .singular(index: i, value: s) }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return .lower(l)
    }
}
