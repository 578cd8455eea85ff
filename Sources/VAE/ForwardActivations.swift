/// The layer chains of a model and the buffers one forward pass through them fills, kept for a
/// backward pass: what training and evaluation share, sized once so their loops allocate nothing.
///
/// A struct of plain pointers, stored inline in its owner: reading `activations.heads` costs the
/// same single load as a pointer field of the owner itself.
struct ForwardActivations {
    /// Encoder hidden layers followed by the heads `[mu | logvar]` (one slot for both).
    let encoderLayers: [DenseSlot]
    let decoderLayers: [DenseSlot]
    /// `outputs[i]` is layer i's output; `inputs[i]` its input (the caller's rows, then the
    /// output below), as `DenseStack.backward` wants them.
    let encoderOutputs: [UnsafeMutablePointer<Float>]
    let encoderInputs: [UnsafePointer<Float>]
    let decoderOutputs: [UnsafeMutablePointer<Float>]
    let decoderInputs: [UnsafePointer<Float>]
    /// The last encoder output, `encoderRows x 2·latent`.
    let heads: UnsafeMutablePointer<Float>
    /// Decoder input, `decoderRows x latent`.
    let z: UnsafeMutablePointer<Float>
    /// The last decoder output (logits or mean), `decoderRows x inputDim`.
    let output: UnsafeMutablePointer<Float>
    /// The ping-pong pair `DenseStack.backward` needs.
    let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Gradient w.r.t. the heads, `encoderRows x 2·latent`.
    let dheads: UnsafeMutablePointer<Float>
    private let arena: BufferArena

    /// `input` is the caller's `encoderRows x inputDim` buffer, which the encoder reads in place.
    /// The decoder side may run on more rows than the encoder (IWAE decodes K samples per input).
    /// The scratch pair covers backward through the encoder, and through the decoder too only
    /// when `backpropagatesDecoder` (evaluation never does, so it does not pay for it).
    init(model: VAEModel, input: UnsafePointer<Float>, encoderRows: Int, decoderRows: Int,
         backpropagatesDecoder: Bool) {
        let latent = model.config.latent
        encoderLayers = model.slots.encoder + [model.slots.heads]
        decoderLayers = model.slots.decoder
        var arena = BufferArena()
        let encOut = encoderLayers.map { arena.make(encoderRows * $0.outDim) }
        encoderOutputs = encOut
        encoderInputs = [input] + encOut.dropLast().map { UnsafePointer($0) }
        heads = encOut[encOut.count - 1]
        z = arena.make(decoderRows * latent)
        let decOut = decoderLayers.map { arena.make(decoderRows * $0.outDim) }
        decoderOutputs = decOut
        decoderInputs = [UnsafePointer(z)] + decOut.dropLast().map { UnsafePointer($0) }
        output = decOut[decOut.count - 1]
        func widest(_ layers: [DenseSlot]) -> Int { layers.map { max($0.inDim, $0.outDim) }.max() ?? 1 }
        let scratchCount = max(encoderRows * widest(encoderLayers),
                               backpropagatesDecoder ? decoderRows * widest(decoderLayers) : 0)
        scratch = (arena.make(scratchCount), arena.make(scratchCount))
        dheads = arena.make(encoderRows * 2 * latent)
        self.arena = arena
    }
}
