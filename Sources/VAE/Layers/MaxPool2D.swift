import Linalg

/// 2-D max pooling (PyTorch's nn.MaxPool2d: padding counts as −∞, the first maximum in scan
/// order wins, NaN propagates). Backward sends each output gradient to the input pixel its
/// forward took the maximum from.
struct MaxPool2DDefinition: LayerDefinition {
    let name: String
    let geometry: ConvGeometry

    init(name: String, input: TensorShape, kernel: Int, stride: Int, padding: Int) {
        guard case .image(let c, let h, let w) = input else { preconditionFailure("MaxPool2D needs an image input") }
        self.name = name
        geometry = ConvGeometry(channels: c, height: h, width: w, kernel: kernel, stride: stride, padding: padding)
    }

    var input: TensorShape { .image(channels: geometry.channels, height: geometry.height, width: geometry.width) }
    var output: TensorShape { .image(channels: geometry.channels, height: geometry.outHeight, width: geometry.outWidth) }
    var activation: Activation? { nil }
    var parameters: [ParameterDeclaration] { [] }
    var gemmFlopsPerSample: GemmFlops { GemmFlops() }
    var scratchPerRow: Int { 0 }
    var description: String {
        "\(name) maxpool \(input) -> \(output) (kernel \(geometry.kernelHeight), stride \(geometry.stride), padding \(geometry.padding))"
    }

    func bind(_ b: inout LayerBinding) -> any Layer { MaxPool2DLayer(definition: self, binding: &b) }
}

final class MaxPool2DLayer: Layer {
    let g: ConvGeometry
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    /// Per output pixel, the index inside its input plane of the maximum (−1: the window lies in
    /// the padding only, which PyTorch forbids and the factory refuses).
    let argmax: UnsafeMutablePointer<Int32>
    private let argmaxCount: Int
    var columnBiasGradient: UnsafeMutablePointer<Float>? { nil }

    init(definition d: MaxPool2DDefinition, binding b: inout LayerBinding) {
        g = d.geometry
        input = b.input
        output = b.arena.make(b.rows * d.output.count)
        argmaxCount = max(1, b.rows * d.output.count)
        argmax = .allocate(capacity: argmaxCount)
        argmax.initialize(repeating: -1, count: argmaxCount)
    }

    deinit { argmax.deallocate() }

    func forward(rows: Int, productsOnly: Bool) {
        if productsOnly { return }
        let H = g.height, W = g.width, oH = g.outHeight, oW = g.outWidth
        let k = g.kernelHeight, s = g.stride, p = g.padding
        // Channel-major [c, n, h, w]: every (channel, sample) pair is one contiguous plane.
        for plane in 0..<(g.channels * rows) {
            let x = input + plane * H * W
            let y = output + plane * oH * oW
            let idx = argmax + plane * oH * oW
            for oh in 0..<oH {
                let h0 = oh * s - p
                let hLo = max(h0, 0), hHi = min(h0 + k, H)
                for ow in 0..<oW {
                    let w0 = ow * s - p
                    let wLo = max(w0, 0), wHi = min(w0 + k, W)
                    var best = -Float.infinity
                    var at = -1
                    for h in hLo..<max(hLo, hHi) {
                        for w in wLo..<max(wLo, wHi) {
                            let v = x[h * W + w]
                            if v > best || v.isNaN || at < 0 {
                                best = v
                                at = h * W + w
                                if v.isNaN { break }
                            }
                        }
                        if best.isNaN { break }
                    }
                    y[oh * oW + ow] = best
                    idx[oh * oW + ow] = Int32(at)
                }
            }
        }
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        guard let dx = gradInput, !productsOnly else { return }
        let inPlane = g.height * g.width, outPlane = g.outHeight * g.outWidth
        for plane in 0..<(g.channels * rows) {
            let d = dx + plane * inPlane
            for i in 0..<inPlane { d[i] = 0 }
            let gy = dy + plane * outPlane
            let idx = argmax + plane * outPlane
            for o in 0..<outPlane where idx[o] >= 0 { d[Int(idx[o])] += gy[o] }
        }
    }
}
