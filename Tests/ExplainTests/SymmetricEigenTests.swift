import XCTest
@testable import Explain

/// The principal axes a full-covariance posterior's traversal follows: A v = λ v for each pair,
/// unit, orthogonal, decreasing, on a covariance with strong correlations.
final class SymmetricEigenTests: XCTestCase {
    func testEigenpairsOfACovariance() {
        let n = 6
        // Σ = L Lᵀ for a dense lower-triangular L: positive definite, clearly non-diagonal.
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { l[i * n + j] = i == j ? 0.5 + Double(i) * 0.2 : sin(Double(i * 3 + j)) } }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i * n + j] += l[i * n + k] * l[j * n + k] } } }
        let e = SymmetricEigen(a, n: n)
        XCTAssertEqual(e.values, e.values.sorted(by: >))
        let trace = (0..<n).reduce(0.0) { $0 + a[$1 * n + $1] }
        XCTAssertEqual(e.values.reduce(0, +), trace, accuracy: 1e-10 * trace)
        for k in 0..<n {
            let v = e.vectors[k]
            for i in 0..<n {
                let av = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * v[$1] }
                XCTAssertEqual(av, e.values[k] * v[i], accuracy: 1e-10 * max(1, e.values[0]))
            }
            for m in 0..<n {
                let dot = (0..<n).reduce(0.0) { $0 + v[$1] * e.vectors[m][$1] }
                XCTAssertEqual(dot, k == m ? 1 : 0, accuracy: 1e-10)
            }
            XCTAssertGreaterThan(v.max()!, -v.min()!, "the largest loading is positive")
        }
    }
}
