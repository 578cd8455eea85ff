/// The layer stacks of a model bound to the buffers one forward pass through them fills, kept for a
/// backward pass: what training and evaluation share, sized once so their loops allocate nothing.
struct ForwardActivations {
    /// Encoder layers, the latent block's head last.
    let encoder: LayerStack
    let decoder: LayerStack
    /// The head's output, `encoderRows x headWidth` (for the Gaussian `[mu | logvar]` a row).
    let heads: UnsafeMutablePointer<Float>
    /// Decoder input, `decoderRows x latent`.
    let z: UnsafeMutablePointer<Float>
    /// The last decoder output (logits or mean), `decoderRows x inputDim`.
    let output: UnsafeMutablePointer<Float>
    /// Gradient w.r.t. the heads, `encoderRows x headWidth`.
    let dheads: UnsafeMutablePointer<Float>
    /// Where a loss kernel writes the decoder's last bias gradient in the pass that writes the
    /// output gradient: that layer's own gradient when its bias is one per output value (dense),
    /// else a scratch row and the layer sums its own.
    let outputBiasGradient: UnsafeMutablePointer<Float>
    let outputBiasFused: Bool
    /// The model's latent block bound to its own tensors (if it has any) in the arenas.
    let latent: any LatentBlock
    private let arena: BufferArena

    /// `input` is the caller's `encoderRows x inputDim` buffer, which the encoder reads in place.
    /// The decoder side may run on more rows than the encoder (IWAE decodes K samples per input).
    /// Gradient buffers cover backward through the encoder, and through the decoder too only when
    /// `backpropagatesDecoder` (evaluation never does, so it does not pay for it).
    init(model: VAEModel, input: UnsafeMutablePointer<Float>, encoderRows: Int, decoderRows: Int,
         backpropagatesDecoder: Bool) {
        let a = model.architecture
        let P = model.parameters.baseAddress!, G = model.gradientStorage.pointer
        var arena = BufferArena()
        latent = a.latent.bound(parameters: P + model.slots.latentBlock, gradients: G + model.slots.latentBlock)
        encoder = LayerStack(a.encoder, offsets: model.slots.encoder, input: input, rows: encoderRows,
                             parameters: P, gradients: G, backward: true, arena: &arena)
        heads = encoder.output
        z = arena.make(decoderRows * a.latent.latent)
        decoder = LayerStack(a.decoder, offsets: model.slots.decoder, input: z, rows: decoderRows,
                             parameters: P, gradients: G, backward: backpropagatesDecoder, arena: &arena)
        output = decoder.output
        dheads = arena.make(encoderRows * a.latent.headWidth)
        if let fused = decoder.top.columnBiasGradient {
            outputBiasGradient = fused
            outputBiasFused = true
        } else {
            outputBiasGradient = arena.make(model.config.inputDim)
            outputBiasFused = false
        }
        self.arena = arena
    }
}
