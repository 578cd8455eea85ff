/// What a model of a configuration holds, computed from the configuration alone, so that a size
/// can be refused before anything of that size is allocated. The float counts follow the
/// allocations of `VAEModel`, `ForwardActivations`, `TrainingWorkspace` and `Evaluator`.
extension ModelConfig {
    /// Every tensor a model of this configuration has, by name, shape and place in the arena:
    /// what a checkpoint of it must hold.
    public var tensorSpecs: [TensorSpec] { ParameterLayout(config: self).specs }

    public var parameterCount: Int { ParameterLayout(config: self).count }

    /// Floats of one training workspace for `rows` rows of a rank's batch share.
    public func trainingWorkspaceFloats(rows: Int) -> Int {
        let B = max(1, rows)
        return B * inputDim + B * latent + activationFloats(encoderRows: B, decoderRows: B, backpropagatesDecoder: true)
            + B * latent + 2 * inputDim
    }

    /// Floats of one `Evaluator` of `maxBatch` rows (IWAE decodes in chunks of at least 512 rows).
    public func evaluatorFloats(maxBatch: Int) -> Int {
        let R = max(1, maxBatch), decodeRows = max(R, 512)
        return R * inputDim + activationFloats(encoderRows: R, decoderRows: decodeRows, backpropagatesDecoder: false)
            + latent + R * latent + inputDim + 5 * decodeRows
    }

    func activationFloats(encoderRows: Int, decoderRows: Int, backpropagatesDecoder: Bool) -> Int {
        let layout = ParameterLayout(config: self)
        let encoder = layout.encoder + [layout.heads]
        func widest(_ layers: [DenseSlot]) -> Int { layers.map { max($0.inDim, $0.outDim) }.max() ?? 1 }
        let scratch = max(encoderRows * widest(encoder), backpropagatesDecoder ? decoderRows * widest(layout.decoder) : 0)
        return encoder.reduce(0) { $0 + encoderRows * $1.outDim } + decoderRows * latent
            + layout.decoder.reduce(0) { $0 + decoderRows * $1.outDim } + 2 * scratch + encoderRows * 2 * latent
    }
}
