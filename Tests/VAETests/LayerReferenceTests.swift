import Foundation
import XCTest
import Linalg
@testable import VAE

/// Every convolution, transposed convolution and max-pooling case of Fixtures/layer-reference.json
/// (PyTorch float64 autograd): forward output and the gradients of Σ g·out w.r.t. input, weight
/// and bias, through the layers exactly as a model binds them.
final class LayerReferenceTests: XCTestCase {
    struct Tensor { let shape: [Int]; let values: [Double] }

    func cases(_ layer: String) throws -> [[String: Any]] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "layer-reference", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let all = try XCTUnwrap(root["cases"] as? [[String: Any]])
        let picked = all.filter { $0["layer"] as? String == layer }
        XCTAssertFalse(picked.isEmpty, "no \(layer) cases in the fixture")
        return picked
    }

    func tensor(_ raw: [String: Any], _ key: String) throws -> Tensor {
        let entry = try XCTUnwrap(raw[key] as? [String: Any], key)
        return Tensor(shape: try XCTUnwrap(entry["shape"] as? [NSNumber]).map(\.intValue),
                      values: try XCTUnwrap(entry["values"] as? [NSNumber]).map(\.doubleValue))
    }

    func values(_ raw: [String: Any], _ key: String) throws -> [Double] {
        try XCTUnwrap(raw[key] as? [NSNumber], key).map(\.doubleValue)
    }

    func int(_ raw: [String: Any], _ key: String) throws -> Int { try XCTUnwrap(raw[key] as? NSNumber, key).intValue }

    /// Float32 products over at most a few hundred terms of order one: 1e-4 relative to the
    /// array's largest value is far above their rounding and far below any indexing mistake.
    func assertClose(_ got: [Double], _ want: [Double], _ label: String) {
        XCTAssertEqual(got.count, want.count, "\(label): count")
        let scale = max(1, want.map(abs).max() ?? 1)
        var worst = 0.0, at = 0
        for (i, (g, w)) in zip(got, want).enumerated() where abs(g - w) > worst { worst = abs(g - w); at = i }
        XCTAssertLessThan(worst / scale, 1e-4, "\(label): worst at \(at): got \(got.isEmpty ? 0 : got[at]) want \(want.isEmpty ? 0 : want[at])")
    }

    func run(_ definition: any LayerDefinition, _ raw: [String: Any], label: String, hasParameters: Bool) throws {
        let x = try tensor(raw, "x"), g = try tensor(raw, "g"), out = try tensor(raw, "out")
        let n = x.shape[0], inC = x.shape[1], outC = out.shape[1]
        XCTAssertEqual(definition.output.count, out.values.count / n, "\(label): output shape \(definition.output)")
        let h = LayerHarness(definition, rows: n)
        h.input.buffer.update(from: channelMajor(x.values, samples: n, channels: inC))
        if hasParameters {
            let w = try tensor(raw, "weight"), b = try tensor(raw, "bias")
            XCTAssertEqual(definition.parameters[0].shape, w.shape, "\(label): weight shape")
            _ = h.parameter(0).update(from: w.values.map(Float.init))
            _ = h.parameter(1).update(from: b.values.map(Float.init))
        }
        h.forward()
        assertClose(sampleMajor(Array(h.output), samples: n, channels: outC), out.values, "\(label) forward")
        h.backward(g: channelMajor(g.values, samples: n, channels: outC))
        assertClose(sampleMajor(Array(h.gradInput.buffer), samples: n, channels: inC), try values(raw, "grad_x"),
                    "\(label) grad_x")
        if hasParameters {
            assertClose(Array(h.gradient(0)).map(Double.init), try values(raw, "grad_weight"), "\(label) grad_weight")
            assertClose(Array(h.gradient(1)).map(Double.init), try values(raw, "grad_bias"), "\(label) grad_bias")
        }
    }

    func image(_ t: Tensor) -> TensorShape { .image(channels: t.shape[1], height: t.shape[2], width: t.shape[3]) }

    func testConv2D() throws {
        for raw in try cases("conv2d") {
            let x = try tensor(raw, "x"), w = try tensor(raw, "weight")
            let label = "conv2d x\(x.shape) k\(try int(raw, "kernel")) s\(try int(raw, "stride")) p\(try int(raw, "padding"))"
            let d = Conv2DDefinition(name: "encoder.0", input: image(x), outChannels: w.shape[0], kernel: try int(raw, "kernel"),
                                     stride: try int(raw, "stride"), padding: try int(raw, "padding"), activation: nil)
            try run(d, raw, label: label, hasParameters: true)
        }
    }

    func testConvTranspose2D() throws {
        for raw in try cases("conv_transpose2d") {
            XCTAssertEqual(raw["weight_layout"] as? String, "[in_channels, out_channels, kh, kw]")
            let x = try tensor(raw, "x"), w = try tensor(raw, "weight")
            let label = "conv_transpose2d x\(x.shape) k\(try int(raw, "kernel")) s\(try int(raw, "stride")) p\(try int(raw, "padding")) op\(try int(raw, "output_padding"))"
            let d = ConvTranspose2DDefinition(
                name: "decoder.1", input: image(x), outChannels: w.shape[1], kernel: try int(raw, "kernel"),
                stride: try int(raw, "stride"), padding: try int(raw, "padding"),
                outputPadding: try int(raw, "output_padding"), activation: nil)
            try run(d, raw, label: label, hasParameters: true)
        }
    }

    func testMaxPool2D() throws {
        for raw in try cases("max_pool2d") {
            let x = try tensor(raw, "x")
            let label = "max_pool2d x\(x.shape) k\(try int(raw, "kernel")) s\(try int(raw, "stride")) p\(try int(raw, "padding"))"
            let d = MaxPool2DDefinition(name: "encoder.pool", input: image(x), kernel: try int(raw, "kernel"),
                                        stride: try int(raw, "stride"), padding: try int(raw, "padding"))
            try run(d, raw, label: label, hasParameters: false)
        }
    }
}
