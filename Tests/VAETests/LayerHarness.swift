import Foundation
import XCTest
import Linalg
@testable import VAE

/// One layer bound alone to its own arenas, as a stack would bind it, for tests that drive it
/// directly: inputs and parameters in, output and gradients out, all channel-major as the layers
/// keep them.
final class LayerHarness {
    let definition: any LayerDefinition
    let rows: Int
    let parameters: FloatBuffer
    let gradients: FloatBuffer
    let input: FloatBuffer
    let gradOutput: FloatBuffer
    let gradInput: FloatBuffer
    let scratch: FloatBuffer
    let offsets: [Int]
    let layer: any Layer
    private let arena: BufferArena

    init(_ definition: any LayerDefinition, rows: Int) {
        self.definition = definition
        self.rows = rows
        var offsets: [Int] = []
        var total = 0
        for p in definition.parameters { offsets.append(total); total += p.count }
        self.offsets = offsets
        parameters = FloatBuffer(count: total)
        gradients = FloatBuffer(count: total)
        input = FloatBuffer(count: rows * definition.input.count)
        gradOutput = FloatBuffer(count: rows * definition.output.count)
        gradInput = FloatBuffer(count: rows * definition.input.count)
        scratch = FloatBuffer(count: rows * max(1, definition.scratchPerRow))
        var binding = LayerBinding(rows: rows, input: input.pointer, parameters: parameters.pointer,
                                   gradients: gradients.pointer, offsets: offsets, scratch: scratch.pointer,
                                   arena: BufferArena())
        layer = definition.bind(&binding)
        arena = binding.arena
    }

    func parameter(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: parameters.pointer + offsets[index], count: definition.parameters[index].count)
    }

    func gradient(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: gradients.pointer + offsets[index], count: definition.parameters[index].count)
    }

    var output: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: layer.output, count: rows * definition.output.count)
    }

    func forward() { layer.forward(rows: rows, productsOnly: false) }

    /// Backward of Σ g·output, `g` given in gradOutput's layout (copied: backward overwrites it).
    func backward(g: [Float]) {
        gradOutput.buffer.update(from: g)
        layer.backward(rows: rows, gradOutput: gradOutput.pointer, gradInput: gradInput.pointer,
                       parameterGradients: true, biasGradientDone: false, productsOnly: false)
    }
}

/// `[n, c, p]` sample-major values (PyTorch's NCHW) to the layers' channel-major `[c, n, p]`, and back.
func channelMajor(_ v: [Double], samples n: Int, channels c: Int) -> [Float] {
    let p = v.count / max(1, n * c)
    var out = [Float](repeating: 0, count: v.count)
    for s in 0..<n { for ch in 0..<c { for k in 0..<p { out[(ch * n + s) * p + k] = Float(v[(s * c + ch) * p + k]) } } }
    return out
}

func sampleMajor(_ v: [Float], samples n: Int, channels c: Int) -> [Double] {
    let p = v.count / max(1, n * c)
    var out = [Double](repeating: 0, count: v.count)
    for s in 0..<n { for ch in 0..<c { for k in 0..<p { out[(s * c + ch) * p + k] = Double(v[(ch * n + s) * p + k]) } } }
    return out
}
