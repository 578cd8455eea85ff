/// What a model of a configuration holds, computed from the configuration alone, so that a size
/// can be refused before anything of that size is allocated. The float counts follow the
/// allocations of `VAEModel`, `ForwardActivations`, `TrainingWorkspace` and `Evaluator`.
extension ModelConfig {
    /// Every tensor a model of this configuration has, by name, shape and place in the arena:
    /// what a checkpoint of it must hold.
    /// Empty when the configuration describes no valid architecture (building the model reports why).
    public var tensorSpecs: [TensorSpec] { layout?.specs ?? [] }

    public var parameterCount: Int { layout?.count ?? 0 }

    private var layout: ParameterLayout? {
        (try? ModelArchitecture(config: self)).map { ParameterLayout(architecture: $0, config: self) }
    }

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

    /// Follows `LayerStack`: each layer's output, the private buffers of image layers (unfolded
    /// patches, arg-max indices: counted as the stack's `imageActivationValuesPerSample` does), the
    /// shared scratch, and the gradient pair of a stack that runs backward.
    func activationFloats(encoderRows: Int, decoderRows: Int, backpropagatesDecoder: Bool) -> Int {
        guard let a = try? ModelArchitecture(config: self) else { return 0 }
        func stack(_ layers: [any LayerDefinition], rows: Int, backward: Bool) -> Int {
            let perRow = layers.reduce(0) { sum, l in
                sum + l.output.count + (l is DenseDefinition ? 0 : l.output.count + 2 * l.scratchPerRow)
            }
            let scratch = layers.map(\.scratchPerRow).max() ?? 0
            let widest = layers.map { max($0.input.count, $0.output.count) }.max() ?? 1
            return rows * (perRow + scratch + (backward ? 2 * widest : 0))
        }
        return stack(a.encoder, rows: encoderRows, backward: true) + decoderRows * latent
            + stack(a.decoder, rows: decoderRows, backward: backpropagatesDecoder) + encoderRows * a.latent.headWidth
    }
}
