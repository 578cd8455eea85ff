import Foundation
import XCTest
@testable import VAE

final class OptimizerTests: XCTestCase {
    /// Three Adam steps against the textbook formulas in float64.
    func testAdamMatchesReferenceFormulas() {
        for decoupled in [true, false] {
            let n = 37
            let adam = Adam(count: n, lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: decoupled)
            let p = FloatBuffer(count: n), g = FloatBuffer(count: n)
            var rp = [Double](repeating: 0, count: n), rm = rp, rv = rp
            for i in 0..<n { p.buffer[i] = Float(i) * 0.05 - 0.9; rp[i] = Double(p.buffer[i]) }
            for t in 1...3 {
                for i in 0..<n { g.buffer[i] = Float((i * 7 + t) % 11) * 0.1 - 0.5 }
                adam.update(parameters: p.buffer, gradients: g.buffer)
                for i in 0..<n {
                    var gi = Double(g.buffer[i])
                    if !decoupled { gi += 0.1 * rp[i] }
                    rm[i] = 0.9 * rm[i] + 0.1 * gi
                    rv[i] = 0.999 * rv[i] + 0.001 * gi * gi
                    let mh = rm[i] / (1 - pow(0.9, Double(t))), vh = rv[i] / (1 - pow(0.999, Double(t)))
                    if decoupled { rp[i] *= 1 - 0.01 * 0.1 }
                    rp[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
                }
            }
            XCTAssertEqual(adam.step, 3)
            for i in 0..<n { XCTAssertEqual(Double(p.buffer[i]), rp[i], accuracy: 2e-6, "decoupled \(decoupled) [\(i)]") }
        }
    }

    func testClipGlobalNorm() {
        let g = FloatBuffer(count: 4)
        for (i, v) in [3, 0, 4, 0].enumerated() { g.buffer[i] = Float(v) }
        XCTAssertEqual(clipGlobalNorm(g.buffer, maxNorm: 10), 5, accuracy: 1e-6)
        XCTAssertEqual(Array(g.buffer), [3, 0, 4, 0])
        XCTAssertEqual(clipGlobalNorm(g.buffer, maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(Double(g.buffer[0]), 0.6, accuracy: 1e-5)
        XCTAssertEqual(Double(g.buffer[2]), 0.8, accuracy: 1e-5)
        g.buffer[1] = .nan
        XCTAssertTrue(clipGlobalNorm(g.buffer, maxNorm: 1).isNaN)
    }
}
