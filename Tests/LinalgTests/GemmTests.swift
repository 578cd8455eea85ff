import XCTest
@testable import Linalg

final class GemmTests: XCTestCase {
    private func filled(_ n: Int, _ salt: Int) -> FloatBuffer {
        let b = FloatBuffer(count: n)
        for i in 0..<n { b.buffer[i] = Float(((i + salt) * 7919) % 23) / 11 - 1 }
        return b
    }

    func testLayerProductsMatchNaiveLoops() {
        let rows = 5, inDim = 7, outDim = 3
        let x = filled(rows * inDim, 1), w = filled(outDim * inDim, 2), dy = filled(rows * outDim, 3)
        let y = FloatBuffer(count: rows * outDim), dx = FloatBuffer(count: rows * inDim), dw = FloatBuffer(count: outDim * inDim)
        Gemm.linear(rows: rows, inDim: inDim, outDim: outDim, x: x.pointer, w: w.pointer, y: y.pointer)
        Gemm.inputGradient(rows: rows, inDim: inDim, outDim: outDim, dy: dy.pointer, w: w.pointer, dx: dx.pointer)
        Gemm.weightGradient(rows: rows, inDim: inDim, outDim: outDim, dy: dy.pointer, x: x.pointer, dw: dw.pointer, alpha: 0.5)
        for r in 0..<rows {
            for o in 0..<outDim {
                var s: Float = 0
                for i in 0..<inDim { s += x.buffer[r * inDim + i] * w.buffer[o * inDim + i] }
                XCTAssertEqual(y.buffer[r * outDim + o], s, accuracy: 1e-5)
            }
            for i in 0..<inDim {
                var s: Float = 0
                for o in 0..<outDim { s += dy.buffer[r * outDim + o] * w.buffer[o * inDim + i] }
                XCTAssertEqual(dx.buffer[r * inDim + i], s, accuracy: 1e-5)
            }
        }
        for o in 0..<outDim {
            for i in 0..<inDim {
                var s: Float = 0
                for r in 0..<rows { s += dy.buffer[r * outDim + o] * x.buffer[r * inDim + i] }
                XCTAssertEqual(dw.buffer[o * inDim + i], 0.5 * s, accuracy: 1e-5)
            }
        }
    }

    func testFlopCounterCountsShapes() {
        let a = filled(12, 0), b = filled(12, 1), c = FloatBuffer(count: 9)
        Gemm.flopCounter = 0
        Gemm.countFlops = true
        Gemm.sgemm(transA: false, transB: false, m: 3, n: 3, k: 4, alpha: 1, a: a.pointer, lda: 4,
                   b: b.pointer, ldb: 3, beta: 0, c: c.pointer, ldc: 3)
        Gemm.countFlops = false
        XCTAssertEqual(Gemm.flopCounter, 2 * 3 * 3 * 4)
    }

    func testBLASInfoAndThreads() {
        XCTAssertFalse(BLASInfo.coreName.isEmpty)
        let before = BLASInfo.threads
        BLASInfo.setThreads(1)
        XCTAssertEqual(BLASInfo.threads, 1)
        BLASInfo.setThreads(before)
    }

    func testSgemmPeakIsPositive() {
        XCTAssertGreaterThan(SgemmPeak.measure(size: 128, repeats: 2), 0.1)
    }
}
