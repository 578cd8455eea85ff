import Linalg
import XCTest

/// PowerSGD's factor P needs orthonormal columns every step, and a degenerate column (a layer
/// whose gradient is zero or lost a direction) must come out zero, never as amplified rounding.
final class GramSchmidtTests: XCTestCase {
    private func column(_ a: [Float], _ j: Int, columns: Int) -> [Double] {
        stride(from: j, to: a.count, by: columns).map { Double(a[$0]) }
    }

    func testColumnsComeOutOrthonormalAndSpanTheInput() {
        let rows = 50, columns = 4
        var random = SystemRandomNumberGenerator()
        let input = (0..<(rows * columns)).map { _ in Float.random(in: -1...1, using: &random) }
        var a = input
        let kept = a.withUnsafeMutableBufferPointer { GramSchmidt.orthonormalizeColumns($0.baseAddress!, rows: rows, columns: columns) }
        XCTAssertEqual(kept, columns)
        for j in 0..<columns {
            for k in 0...j {
                let dot = zip(column(a, j, columns: columns), column(a, k, columns: columns)).map(*).reduce(0, +)
                XCTAssertEqual(dot, j == k ? 1 : 0, accuracy: 1e-5, "columns \(j), \(k)")
            }
        }
        // Each input column lies in the span of the output's first j+1 columns (triangular basis).
        for j in 0..<columns {
            var rest = column(input, j, columns: columns)
            for k in 0...j {
                let q = column(a, k, columns: columns)
                let dot = zip(rest, q).map(*).reduce(0, +)
                rest = zip(rest, q).map { $0 - dot * $1 }
            }
            XCTAssertLessThan(rest.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-4, "column \(j) left the span")
        }
    }

    func testDependentAndZeroColumnsBecomeZero() {
        let rows = 20, columns = 3
        var a = [Float](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            a[i * columns] = Float(i) - 9.5
            a[i * columns + 1] = 3 * a[i * columns]   // a multiple of the first
            // the third stays zero
        }
        let kept = a.withUnsafeMutableBufferPointer { GramSchmidt.orthonormalizeColumns($0.baseAddress!, rows: rows, columns: columns) }
        XCTAssertEqual(kept, 1)
        XCTAssertEqual(column(a, 0, columns: columns).map { $0 * $0 }.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertTrue(column(a, 1, columns: columns).allSatisfy { $0 == 0 }, "\(column(a, 1, columns: columns))")
        XCTAssertTrue(column(a, 2, columns: columns).allSatisfy { $0 == 0 })
        XCTAssertTrue(a.allSatisfy(\.isFinite))
    }
}
