import Foundation
import XCTest
@testable import Linalg

final class ActivationKernelTests: XCTestCase {
    private func reference(_ a: Activation, _ v: Double) -> Double {
        switch a {
        case .relu: return max(v, 0)
        case .leakyRelu: return v > 0 ? v : 0.01 * v
        case .tanh: return Foundation.tanh(v)
        case .elu: return v > 0 ? v : Foundation.exp(v) - 1
        }
    }

    /// Forward values against float64 formulas, derivatives against central differences of them,
    /// and the fused bias gradient against a column sum.
    func testForwardAndDerivativeOfEveryActivation() {
        let rows = 4, cols = 9
        let bias: [Float] = (0..<cols).map { Float($0) * 0.1 - 0.4 }
        for a in Activation.allCases {
            let pre: [Float] = (0..<(rows * cols)).map { Float(($0 * 13) % 29) / 7 - 2.03 }
            let y = FloatBuffer(count: rows * cols)
            for i in 0..<(rows * cols) { y.buffer[i] = pre[i] }
            ActivationKernels.biasActivate(y.pointer, rows: rows, cols: cols, bias: bias, activation: a)
            let g = FloatBuffer(count: rows * cols)
            for i in 0..<(rows * cols) { g.buffer[i] = Float(i % 5) - 1.5 }
            let upstream = Array(g.buffer)
            let biasGrad = FloatBuffer(count: cols)
            ActivationKernels.backward(g.pointer, output: y.pointer, rows: rows, cols: cols, activation: a, biasGrad: biasGrad.pointer)
            var sums = [Double](repeating: 0, count: cols)
            for i in 0..<(rows * cols) {
                let v = Double(pre[i]) + Double(bias[i % cols])
                XCTAssertEqual(Double(y.buffer[i]), reference(a, v), accuracy: 2e-6, "\(a) forward at \(v)")
                let h = 1e-6
                let slope = (reference(a, v + h) - reference(a, v - h)) / (2 * h)
                XCTAssertEqual(Double(g.buffer[i]), Double(upstream[i]) * slope, accuracy: 1e-4, "\(a) derivative at \(v)")
                sums[i % cols] += Double(g.buffer[i])
            }
            for j in 0..<cols { XCTAssertEqual(Double(biasGrad.buffer[j]), sums[j], accuracy: 1e-5) }
        }
    }

    func testParsing() {
        XCTAssertEqual(Activation(parsing: "ReLU"), .relu)
        XCTAssertEqual(Activation(parsing: "leaky-relu"), .leakyRelu)
        XCTAssertEqual(Activation(parsing: "leaky_relu"), .leakyRelu)
        XCTAssertNil(Activation(parsing: "gelu"))
    }
}
