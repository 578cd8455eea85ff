import Foundation
import Linalg

/// How many subnormal floats one training step left in its buffers: what makes a step slow on
/// CPUs that take a microcode path for them (Intel AVX-512 cores), and what flushing removes.
public struct SubnormalCensus: Codable, Equatable {
    /// Forward activations: every encoder and decoder layer's output but the last decoder one,
    /// and z.
    public var activations: Int
    public var activationValues: Int
    /// Gradients: the parameters' gradient and what backward leaves in its buffers (the decoder
    /// output's gradient, the heads' and z's, the last hidden layers').
    public var gradients: Int
    public var gradientValues: Int
    /// The parameters and Adam's moments after the step's update (zero values when not counted):
    /// moments of weights whose gradient vanished decay geometrically through the subnormal range.
    public var parametersAndMoments = 0
    public var parameterAndMomentValues = 0
    public var total: Int { activations + gradients + parametersAndMoments }

    public init(activations: Int = 0, activationValues: Int = 0, gradients: Int = 0, gradientValues: Int = 0) {
        self.activations = activations
        self.activationValues = activationValues
        self.gradients = gradients
        self.gradientValues = gradientValues
    }

    /// Adds the parameters and `optimizer`'s moments.
    public mutating func count(parametersOf model: VAEModel, optimizer: Adam) {
        for buffer in [model.parameters, optimizer.m, optimizer.v] {
            parametersAndMoments += SubnormalMode.count(UnsafeBufferPointer(buffer))
            parameterAndMomentValues += buffer.count
        }
    }
}

extension TrainingWorkspace {
    /// The census of the buffers of the last `forwardBackward(batch:)`, for rows `0..<batch`.
    /// A scan of the step's few megabytes: for benchmarks and checks, not for every step.
    public func subnormalCensus(batch: Int) -> SubnormalCensus {
        let B = min(max(batch, 1), maxBatch)
        let c = model.config
        var census = SubnormalCensus()
        func activation(_ p: UnsafePointer<Float>, _ n: Int) {
            census.activations += SubnormalMode.count(p, n)
            census.activationValues += n
        }
        func gradient(_ p: UnsafePointer<Float>, _ n: Int) {
            census.gradients += SubnormalMode.count(p, n)
            census.gradientValues += n
        }
        for (layer, d) in zip(act.encoder.layers, act.encoder.definitions) { activation(layer.output, B * d.output.count) }
        activation(act.z, B * c.latent)
        for (layer, d) in zip(act.decoder.layers, act.decoder.definitions).dropLast() { activation(layer.output, B * d.output.count) }
        // backward overwrote the decoder output with its gradient.
        gradient(act.output, B * c.inputDim)
        gradient(act.dheads, B * model.architecture.latent.headWidth)
        gradient(dz, B * c.latent)
        for stack in [act.encoder, act.decoder] where stack.gradientCount > 0 {
            let n = min(stack.gradientCount, B * stack.gradientCount / maxBatch)
            gradient(stack.gradients.0, n)
            gradient(stack.gradients.1, n)
        }
        gradient(model.gradients.baseAddress!, model.parameterCount)
        return census
    }
}

extension SubnormalProbe {
    /// One training step (forward, backward, Adam) of the benchmark model with every parameter
    /// set to the subnormal 2^-138 (about 2.9e-42), on pseudo-images in [0, 1], with `threads` BLAS
    /// threads (restored afterwards). With IEEE subnormals the hidden activations and most
    /// gradients come out subnormal; flushed, none do. Also counts Adam's moments after the
    /// update, which are made of those gradients.
    public static func trainingStep(threads: Int, config: ModelConfig = .benchmark, batch: Int = 128)
        -> (census: SubnormalCensus, moments: Int, momentValues: Int, threads: Int)
    {
        let previous = BLASInfo.threads
        BLASInfo.setThreads(threads)
        let actual = BLASInfo.threads
        defer { BLASInfo.setThreads(previous) }
        let model = VAEModel(config: config, seed: 0)
        let tiny = Float(bitPattern: 0x0000_0800)
        for i in 0..<model.parameterCount { model.parameters[i] = tiny }
        let ws = TrainingWorkspace(model: model, maxBatch: batch)
        let D = config.inputDim
        for i in 0..<(batch * D) { ws.input[i] = Float((i &* 2_654_435_761) % 1000) / 999 }
        ws.prepareNoise(batch: batch, seed: 0, epoch: 0, sampleIndices: 0..<batch)
        _ = ws.forwardBackward(batch: batch, klWeight: config.beta, gradScale: 1 / Float(batch))
        let census = ws.subnormalCensus(batch: batch)
        let adam = Adam(count: model.parameterCount, lr: 1e-3)
        adam.update(parameters: model.parameters, gradients: model.gradients)
        let moments = SubnormalMode.count(UnsafeBufferPointer(adam.m)) + SubnormalMode.count(UnsafeBufferPointer(adam.v))
        return (census, moments, 2 * model.parameterCount, actual)
    }
}
