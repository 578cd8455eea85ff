import XCTest
@testable import Linalg

final class CholeskyTests: XCTestCase {
    func testFactorReproducesTheMatrix() {
        let a: [Double] = [4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]
        guard case .lower(let l) = Cholesky.factor(a, n: 3) else { return XCTFail("a positive definite matrix was refused") }
        for i in 0..<3 {
            for j in 0..<3 {
                if j > i { XCTAssertEqual(l[i * 3 + j], 0) }
                var s = 0.0
                for k in 0..<3 { s += l[i * 3 + k] * l[j * 3 + k] }
                XCTAssertEqual(s, a[i * 3 + j], accuracy: 1e-12)
            }
        }
    }

    /// The failing pivot is named; the relative floor refuses what rounding left of a zero pivot.
    func testSingularPivotsAreNamed() {
        let dependent: [Double] = [1, 1, 1, 1 + 1e-15]
        guard case .lower = Cholesky.factor(dependent, n: 2) else { return XCTFail("a positive pivot must pass without a floor") }
        guard case .singular(let index, _) = Cholesky.factor(dependent, n: 2, relativePivotFloor: 1e-12) else {
            return XCTFail("a pivot of 1e-15 of its diagonal must be refused under a 1e-12 floor")
        }
        XCTAssertEqual(index, 1)
        XCTAssertEqual(Cholesky.factor([1, 0, 0, -2], n: 2), .singular(index: 1, value: -2))
        guard case .singular(0, let value) = Cholesky.factor([.nan, 0, 0, 1], n: 2) else { return XCTFail("NaN must be refused") }
        XCTAssertTrue(value.isNaN)
    }
}
