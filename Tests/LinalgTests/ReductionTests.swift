import XCTest
@testable import Linalg

final class ReductionTests: XCTestCase {
    func testSumsDotsAndColumnSums() {
        for n in [0, 1, 15, 16, 17, 100, 1031] {
            let x: [Float] = (0..<n).map { Float($0 % 7) - 2.5 }
            let y: [Float] = (0..<n).map { Float($0 % 3) * 0.5 }
            XCTAssertEqual(Reductions.sum(x, count: n), x.reduce(0, +), accuracy: 1e-3)
            XCTAssertEqual(Reductions.sumOfSquares(x, count: n), x.map { $0 * $0 }.reduce(0, +), accuracy: 1e-2)
            XCTAssertEqual(Reductions.dot(x, y, count: n), zip(x, y).map(*).reduce(0, +), accuracy: 1e-3)
            XCTAssertTrue(Reductions.allFinite(x, count: n))
        }
        var bad: [Float] = Array(repeating: 1, count: 40)
        bad[33] = .infinity
        XCTAssertFalse(Reductions.allFinite(bad, count: 40))
        bad[33] = .nan
        XCTAssertFalse(Reductions.allFinite(bad, count: 40))

        let m: [Float] = (0..<12).map(Float.init)  // 3 x 4
        var out = [Float](repeating: 9, count: 4)
        Reductions.columnSums(m, rows: 3, cols: 4, into: &out)
        XCTAssertEqual(out, [12, 15, 18, 21])
    }

    func testFloatBufferIsAlignedAndZeroed() {
        let b = FloatBuffer(count: 37)
        XCTAssertEqual(Int(bitPattern: b.pointer) % 64, 0)
        XCTAssertTrue(b.buffer.allSatisfy { $0 == 0 })
    }

    func testMatrixViewIndexing() {
        let b = FloatBuffer(count: 12)
        let m = MatrixView(b.pointer, rows: 3, cols: 4)
        m[1, 2] = 5
        XCTAssertEqual(b.buffer[6], 5)
        XCTAssertEqual(m.rows(1..<3)[0, 2], 5)
    }
}
