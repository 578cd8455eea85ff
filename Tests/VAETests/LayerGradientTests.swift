import Foundation
import XCTest
import Linalg
@testable import VAE

/// Each layer type's backward against central finite differences of its own forward, with a
/// smooth activation applied inside the layer (so its derivative is checked too), on every
/// input and parameter value: Σ g·out for a fixed random g.
final class LayerGradientTests: XCTestCase {
    /// `distinctInputs`: inputs a shuffled ladder of values 0.05 apart, so no finite-difference
    /// step (0.01) can change which value of a pooling window is the largest.
    func check(_ definition: any LayerDefinition, rows: Int, label: String, distinctInputs: Bool = false) {
        let h = LayerHarness(definition, rows: rows)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        for i in 0..<h.input.count { h.input.buffer[i] = next() }
        if distinctInputs {
            let n = h.input.count
            for i in 0..<n { h.input.buffer[i] = Float((i &* 7919) % n) * 0.05 - Float(n) * 0.025 }
        }
        for i in 0..<h.parameters.count { h.parameters.buffer[i] = 0.6 * next() }
        let g = (0..<(rows * definition.output.count)).map { _ in next() }
        func objective() -> Double {
            h.forward()
            var s = 0.0
            for (o, w) in zip(h.output, g) { s += Double(o) * Double(w) }
            return s
        }
        _ = objective()
        h.backward(g: g)
        let analyticInput = Array(h.gradInput.buffer)
        let analyticParameters = Array(h.gradients.buffer)

        // Float32 forward: a step of 1e-2 keeps the difference far above its rounding; the
        // layers are linear but for the activation, whose curvature the central difference
        // cancels to O(h²).
        let step: Float = 1e-2
        var worst = 0.0, worstAt = ""
        func probe(_ buffer: UnsafeMutableBufferPointer<Float>, _ analytic: [Float], _ what: String) {
            for i in 0..<buffer.count {
                let saved = buffer[i]
                buffer[i] = saved + step
                let plus = objective()
                buffer[i] = saved - step
                let minus = objective()
                buffer[i] = saved
                let numeric = (plus - minus) / (2 * Double(step))
                let err = abs(numeric - Double(analytic[i])) / (0.05 + abs(numeric))
                if err > worst { worst = err; worstAt = "\(what)[\(i)] numeric \(numeric) analytic \(analytic[i])" }
            }
        }
        probe(h.input.buffer, analyticInput, "input")
        probe(h.parameters.buffer, analyticParameters, "parameters")
        XCTAssertLessThan(worst, 1e-2, "\(label): worst \(worstAt)")
    }

    func testConv2DStridesAndPaddings() {
        for (k, s, p) in [(3, 1, 1), (4, 2, 1), (3, 2, 0), (2, 1, 0)] {
            let d = Conv2DDefinition(name: "encoder.0", input: .image(channels: 2, height: 7, width: 6), outChannels: 3,
                                     kernel: k, stride: s, padding: p, activation: .tanh)
            check(d, rows: 2, label: "conv k\(k) s\(s) p\(p)")
        }
    }

    func testConvTranspose2DStridesPaddingsAndOutputPadding() {
        for (k, s, p, op) in [(4, 2, 1, 0), (3, 2, 1, 1), (3, 1, 1, 0), (3, 3, 0, 2)] {
            let d = ConvTranspose2DDefinition(name: "decoder.0", input: .image(channels: 2, height: 3, width: 4),
                                              outChannels: 3, kernel: k, stride: s, padding: p, outputPadding: op,
                                              activation: .tanh)
            check(d, rows: 2, label: "convT k\(k) s\(s) p\(p) op\(op)")
        }
    }

    func testMaxPool2D() {
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1)] {
            let d = MaxPool2DDefinition(name: "encoder.pool", input: .image(channels: 2, height: 7, width: 6),
                                        kernel: k, stride: s, padding: p)
            check(d, rows: 2, label: "maxpool k\(k) s\(s) p\(p)", distinctInputs: true)
        }
    }

    func testReshapeBothWays() {
        for c in [1, 3] {
            check(ReshapeDefinition(name: "flatten", direction: .flatten, image: .image(channels: c, height: 2, width: 3)),
                  rows: 2, label: "flatten c\(c)")
            check(ReshapeDefinition(name: "unflatten", direction: .unflatten, image: .image(channels: c, height: 2, width: 3)),
                  rows: 2, label: "unflatten c\(c)")
        }
    }

    func testDense() {
        check(DenseDefinition(name: "encoder.0", inDim: 5, outDim: 4, activation: .tanh), rows: 3, label: "dense")
    }

    /// Flatten puts values in PyTorch's (channel, row, column) order per sample.
    func testFlattenOrderIsPyTorchs() {
        let h = LayerHarness(ReshapeDefinition(name: "flatten", direction: .flatten,
                                               image: .image(channels: 2, height: 1, width: 2)), rows: 2)
        // channel-major [c, n, p]: c0 n0 = (0, 1), c0 n1 = (2, 3), c1 n0 = (4, 5), c1 n1 = (6, 7)
        h.input.buffer.update(from: [0, 1, 2, 3, 4, 5, 6, 7])
        h.forward()
        XCTAssertEqual(Array(h.output), [0, 1, 4, 5, 2, 3, 6, 7])
    }

    /// A pass allocates nothing once bound.
    func testForwardAndBackwardDoNotAllocate() throws {
        let counter = try AllocationCounter()
        let defs: [any LayerDefinition] = [
            Conv2DDefinition(name: "e", input: .image(channels: 2, height: 8, width: 8), outChannels: 3, kernel: 4,
                             stride: 2, padding: 1, activation: .relu),
            ConvTranspose2DDefinition(name: "d", input: .image(channels: 2, height: 4, width: 4), outChannels: 3,
                                      kernel: 4, stride: 2, padding: 1, outputPadding: 0, activation: .relu),
            MaxPool2DDefinition(name: "p", input: .image(channels: 2, height: 8, width: 8), kernel: 3, stride: 2, padding: 1),
            ReshapeDefinition(name: "f", direction: .flatten, image: .image(channels: 2, height: 3, width: 3)),
        ]
        for d in defs {
            let h = LayerHarness(d, rows: 4)
            let count = counter.count {
                h.layer.forward(rows: 4, productsOnly: false)
                h.layer.backward(rows: 4, gradOutput: h.gradOutput.pointer, gradInput: h.gradInput.pointer,
                                 parameterGradients: true, biasGradientDone: false, productsOnly: false)
            }
            XCTAssertEqual(count, 0, "\(d)")
        }
    }
}
