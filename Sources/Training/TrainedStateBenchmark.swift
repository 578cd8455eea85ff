import Basics
import Datasets
import Foundation
import Linalg
import MPI
import VAE

/// The training step timed in the regime training is in, not only the one it starts from: on
/// real batches, from a fresh model and from a trained one (a checkpoint's parameters and Adam
/// state, or a stated number of warm-up steps), with the subnormal floats one step of each
/// leaves in its activations and gradients. A trained model can step slower than a fresh one
/// where subnormals are slow (Intel AVX-512 cores) and are not flushed: as the decoder grows
/// confident, sigmoid gradients and what flows from them underflow.
public struct TrainedStateBenchmarkResult: Codable {
    /// The data the batches come from, and why, when it is not Fashion-MNIST.
    public var data: String
    public var dataNote: String?
    public var batchSize: Int
    /// Where the trained state comes from.
    public var trainedState: String
    /// Warm-up steps from the fresh state (nil with a checkpoint).
    public var warmupSteps: Int?
    public var checkpoint: String?
    /// Adam steps behind the trained state.
    public var trainedAdamStep: Int
    public var freshSamplesPerSecond: Double
    public var trainedSamplesPerSecond: Double
    public var freshRepeatSamplesPerSecond: [Double]
    public var trainedRepeatSamplesPerSecond: [Double]
    /// trained / fresh.
    public var trainedOverFresh: Double
    /// The trained state steps more than `slowdownThreshold` slower than the fresh one.
    public var trainedIsSlower: Bool
    public var freshSubnormals: SubnormalCensus
    public var trainedSubnormals: SubnormalCensus
    public var subnormalsFlushed: Bool
}

public enum TrainedStateBenchmark {
    /// Warm-up steps without a checkpoint: about 4.3 epochs of Fashion-MNIST at batch 128, where
    /// training without flushing has left most of its speed behind on Intel AVX-512 cores.
    public static let defaultWarmupSteps = 2000
    /// A trained-state figure below (1 - this) x the fresh one is flagged.
    public static let slowdownThreshold = 0.15

    /// The model, optimizer and settings of a checkpoint, to step on from there.
    public struct Start {
        public var config: TrainConfig
        public var modelConfig: ModelConfig
        public var parameters: [Float]
        public var m: [Float]
        public var v: [Float]
        public var adamStep: Int
        public var path: String
    }

    /// Reads `path` (a checkpoint file or a run directory): parameters, Adam's moments and step,
    /// and the run's settings (its learning rate and the rest of what a step uses).
    public static func loadStart(_ path: String) throws -> Start {
        let file = try CheckpointedModel.resolve(path)
        let loaded = try CheckpointStore.load(path: file)
        let meta = loaded.metadata
        guard let text = meta["model_config"], let modelConfig = ModelConfigJSON.decode(text) else {
            throw ConfigError("--checkpoint \(path): not an mpivae checkpoint (no model configuration in its metadata)")
        }
        do { try modelConfig.validate() } catch { throw ConfigError("--checkpoint \(path): \(error)") }
        var config = TrainConfig()
        if let saved = meta["train_config"] {
            config = try TrainConfig.decode(Data(saved.utf8), source: "\(file) (its train_config)")
        }
        let model = VAEModel(config: modelConfig, seed: 0)
        let optimizer = Adam(count: model.parameterCount, lr: config.lr)
        for spec in model.layout {
            func into(_ arena: UnsafeMutableBufferPointer<Float>) -> UnsafeMutableBufferPointer<Float> {
                UnsafeMutableBufferPointer(rebasing: arena[spec.offset..<(spec.offset + spec.count)])
            }
            try loaded.copy(spec.name, shape: spec.shape, into: into(model.parameters))
            try loaded.copy("optimizer.m." + spec.name, shape: spec.shape, into: into(optimizer.m))
            try loaded.copy("optimizer.v." + spec.name, shape: spec.shape, into: into(optimizer.v))
        }
        guard let stepText = meta["adam_step"], let adamStep = Int(stepText), adamStep >= 0 else {
            throw ConfigError("--checkpoint \(file): metadata \"adam_step\" should be a whole number, found \(meta["adam_step"] ?? "nothing")")
        }
        return Start(config: config, modelConfig: modelConfig, parameters: Array(model.parameters),
                     m: Array(optimizer.m), v: Array(optimizer.v), adamStep: adamStep, path: file)
    }

    /// Times steps at `batchSize` on `data` in `comm` (a world of one: the bench runs it on one
    /// rank), `repeats` windows of each state alternating over `seconds` in all. Each window
    /// starts from the same saved state and the same batches, so the two figures differ by the
    /// state alone. Without `start`, the model is `model` (the one the rest of the bench times),
    /// trained from scratch for `warmupSteps`.
    public static func run(comm: Communicator, data: Dataset, dataNote: String?, batchSize: Int, start: Start?,
                           model fresh: ModelConfig? = nil, warmupSteps: Int, seconds: Double,
                           repeats: Int = 7) throws -> TrainedStateBenchmarkResult {
        var config = start?.config ?? TrainConfig()
        config.batchSize = batchSize
        let modelConfig = try start?.modelConfig ?? fresh ?? config.modelConfig(inputDim: data.dimension)
        guard data.dimension == modelConfig.inputDim else {
            throw ConfigError("--checkpoint \(start?.path ?? ""): its model takes \(modelConfig.inputDim) values a sample, the benchmark data (\(data.name)) has \(data.dimension)")
        }
        try LikelihoodFit.check(data, for: modelConfig)
        let sampler = ShardedSampler(datasetCount: data.count, globalBatch: batchSize, worldSize: 1, rank: 0, seed: config.seed)
        let model = VAEModel(config: modelConfig, seed: config.seed)
        let optimizer = Adam(count: model.parameterCount, lr: config.lr, weightDecay: config.weightDecay)
        let step = try DataParallelStep(model: model, optimizer: optimizer, trainSet: data, sampler: sampler, config: config, comm: comm)
        let klWeight = modelConfig.beta

        struct State { var parameters: [Float], m: [Float], v: [Float], adamStep: Int }
        func save() -> State { State(parameters: Array(model.parameters), m: Array(optimizer.m), v: Array(optimizer.v), adamStep: optimizer.step) }
        func restore(_ s: State) {
            _ = model.parameters.update(from: s.parameters)
            _ = optimizer.m.update(from: s.m)
            _ = optimizer.v.update(from: s.v)
            optimizer.step = s.adamStep
        }
        // Timed windows stay inside epoch 0, whose permutation is made once, outside them.
        let firstPermutation = sampler.permutation(epoch: 0)
        func steps(_ count: Int, from first: Int = 0) throws {
            var permutation = firstPermutation
            var epoch = 0
            for s in first..<(first + count) {
                let e = s / sampler.stepsPerEpoch
                if e != epoch { epoch = e; permutation = sampler.permutation(epoch: e) }
                _ = try step.run(epoch: e, step: s % sampler.stepsPerEpoch, permutation: permutation, klWeight: klWeight, stopRequested: false)
            }
        }

        let fresh = save()
        let trained: State
        if let start {
            trained = State(parameters: start.parameters, m: start.m, v: start.v, adamStep: start.adamStep)
        } else {
            try steps(warmupSteps)
            trained = save()
        }

        func census(_ s: State) throws -> SubnormalCensus {
            restore(s)
            try steps(1)
            var c = step.workspace.subnormalCensus(batch: min(batchSize, data.count))
            c.count(parametersOf: model, optimizer: optimizer)
            return c
        }
        let freshCensus = try census(fresh), trainedCensus = try census(trained)

        // One untimed window of each warms caches and OpenBLAS's buffers.
        let window = max(0.02, seconds / Double(2 * max(1, repeats)))
        var freshRates: [Double] = [], trainedRates: [Double] = []
        for w in 0...max(1, repeats) {
            for (state, isFresh) in [(fresh, true), (trained, false)] {
                restore(state)
                var count = 0
                let t0 = Clock.now()
                var t = t0
                repeat {
                    try steps(1, from: count % sampler.stepsPerEpoch)
                    count += 1
                    t = Clock.now()
                } while t - t0 < window
                let rate = Double(count * batchSize) / (t - t0)
                if w > 0 { if isFresh { freshRates.append(rate) } else { trainedRates.append(rate) } }
            }
        }
        let freshMedian = DistributedBenchmark.median(freshRates), trainedMedian = DistributedBenchmark.median(trainedRates)
        return TrainedStateBenchmarkResult(
            data: data.name, dataNote: dataNote, batchSize: batchSize,
            trainedState: start.map { "checkpoint \($0.path)" } ?? "\(warmupSteps) warm-up steps from the fresh state (seed \(config.seed))",
            warmupSteps: start == nil ? warmupSteps : nil, checkpoint: start?.path, trainedAdamStep: trained.adamStep,
            freshSamplesPerSecond: freshMedian, trainedSamplesPerSecond: trainedMedian,
            freshRepeatSamplesPerSecond: freshRates, trainedRepeatSamplesPerSecond: trainedRates,
            trainedOverFresh: trainedMedian / freshMedian, trainedIsSlower: trainedMedian < (1 - slowdownThreshold) * freshMedian,
            freshSubnormals: freshCensus, trainedSubnormals: trainedCensus, subnormalsFlushed: SubnormalMode.flushedOnThisThread)
    }
}
