/// Orthonormal columns by modified Gram-Schmidt, in place, with the dot products accumulated in
/// Double: the few columns of a low-rank gradient factor (PowerSGD's P) need an orthonormal basis
/// every step, and every rank must compute the same one from the same summed input.
public enum GramSchmidt {
    /// `a` is `rows x columns`, row-major with leading dimension `columns`. A column that is zero,
    /// or (to float precision) a combination of the earlier ones, becomes zero rather than noise
    /// blown up to unit length; the return value counts the columns that stayed.
    @discardableResult
    public static func orthonormalizeColumns(_ a: UnsafeMutablePointer<Float>, rows: Int, columns: Int) -> Int {
        var kept = 0
        for j in 0..<columns {
            var original = 0.0
            for i in 0..<rows { let x = Double(a[i * columns + j]); original += x * x }
            for k in 0..<j {
                var dot = 0.0
                for i in 0..<rows { dot += Double(a[i * columns + j]) * Double(a[i * columns + k]) }
                let d = Float(dot)
                if d != 0 { for i in 0..<rows { a[i * columns + j] -= d * a[i * columns + k] } }
            }
            var norm = 0.0
            for i in 0..<rows { let x = Double(a[i * columns + j]); norm += x * x }
            norm = norm.squareRoot()
            // What remains of a dependent column is rounding of the earlier ones: 1e-4 of its
            // length lies far above float rounding and far below any direction the data holds.
            guard original > 0, norm.isFinite, norm > 1e-4 * original.squareRoot() else {
                for i in 0..<rows { a[i * columns + j] = 0 }
                continue
            }
            let inverse = Float(1 / norm)
            for i in 0..<rows { a[i * columns + j] *= inverse }
            kept += 1
        }
        return kept
    }
}
