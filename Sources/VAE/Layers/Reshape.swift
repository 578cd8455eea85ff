import Linalg

/// Between image and flat tensors: images are channel-major `[c, n, h, w]`, flat tensors a sample
/// a row `[n, c·h·w]` with the values in PyTorch's flatten order (channel, row, column), so a dense
/// layer after a convolution has the weight a PyTorch nn.Flatten + nn.Linear would.
///
/// With one channel the two layouts are the same bytes: the output is the input itself and
/// forward costs nothing.
struct ReshapeDefinition: LayerDefinition {
    enum Direction { case flatten, unflatten }
    let name: String
    let direction: Direction
    /// The image side.
    let image: TensorShape

    var input: TensorShape { direction == .flatten ? image : .flat(image.count) }
    var output: TensorShape { direction == .flatten ? .flat(image.count) : image }
    var activation: Activation? { nil }
    var parameters: [ParameterDeclaration] { [] }
    var gemmFlopsPerSample: GemmFlops { GemmFlops() }
    var scratchPerRow: Int { 0 }
    var description: String { "\(name) \(direction == .flatten ? "flatten" : "unflatten") \(input) -> \(output)" }

    var channels: Int {
        guard case .image(let c, _, _) = image else { return 1 }
        return c
    }

    func bind(_ b: inout LayerBinding) -> any Layer { ReshapeLayer(definition: self, binding: &b) }
}

final class ReshapeLayer: Layer {
    let toChannelMajor: Bool
    let channels: Int
    let positions: Int
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    var columnBiasGradient: UnsafeMutablePointer<Float>? { nil }

    init(definition d: ReshapeDefinition, binding b: inout LayerBinding) {
        toChannelMajor = d.direction == .unflatten
        channels = d.channels
        positions = d.image.count / max(1, d.channels)
        input = b.input
        output = channels == 1 ? b.input : b.arena.make(b.rows * d.image.count)
    }

    func forward(rows: Int, productsOnly: Bool) {
        if channels == 1 || productsOnly { return }
        ChannelKernels.transpose(input, output, rows: rows, channels: channels, positions: positions,
                                 toChannelMajor: toChannelMajor)
    }

    func backward(rows: Int, gradOutput dy: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool) {
        guard let dx = gradInput, !productsOnly else { return }
        if channels == 1 {
            dx.update(from: dy, count: rows * positions)
        } else {
            ChannelKernels.transpose(dy, dx, rows: rows, channels: channels, positions: positions,
                                     toChannelMajor: !toChannelMajor)
        }
    }
}
