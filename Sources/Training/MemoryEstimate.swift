import Datasets
import SystemMemory
import VAE

/// Everything a command will hold, estimated from the model and data configuration before the
/// first large allocation, and checked against what this process may still allocate (its share
/// of the node's available memory, a cgroup limit, `ulimit -v`). A run that cannot fit ends at
/// once with one line giving the estimate, its parts and the limit, instead of in an allocation
/// that traps, or an OOM kill an hour in when the export allocates.
public struct MemoryEstimate {
    /// What, and bytes; in the order they are allocated.
    public private(set) var parts: [(what: String, bytes: Int)] = []
    /// Bytes already allocated when the estimate is checked (the data, read before the model can
    /// be sized): listed, but not asked of the limit again.
    public private(set) var held = 0
    /// The command, for the message: "train", "evaluate".
    public let command: String
    /// What to change to need less, for the message.
    public let advice: String

    public init(command: String, advice: String) {
        self.command = command
        self.advice = advice
    }

    public var total: Int { parts.reduce(0) { $0 &+ $1.bytes } }

    public mutating func add(_ what: String, floats: Int) { add(what, bytes: floats.multipliedReportingOverflow(by: 4).partialValue) }

    public mutating func add(_ what: String, bytes: Int) {
        guard bytes > 0 else { return }
        parts.append((what, bytes))
    }

    public mutating func addHeld(_ what: String, bytes: Int) {
        add(what + " (read)", bytes: bytes)
        held += bytes
    }

    /// The model's own arenas: parameters, and the gradients every model allocates beside them.
    public mutating func addModel(_ config: ModelConfig) {
        let p = config.parameterCount
        add("parameters", floats: p)
        add("gradients", floats: p + VAEModel.gradientTailCount)
    }

    /// Evaluation of `dataset` in batches of 256 (DistributedEvaluation's batch).
    public mutating func addEvaluation(_ config: ModelConfig) {
        add("evaluation buffers", floats: config.evaluatorFloats(maxBatch: 256) + 256 * config.inputDim)
    }

    /// The explanation export on `count` samples, with `neighbours` training samples encoded.
    public mutating func addExport(_ config: ModelConfig, count: Int, neighbours: Int) {
        // Its own evaluator and batch, then the posterior arrays (mu, logvar, KL per dimension and
        // three per-sample figures) of each rank's shard and again gathered on rank 0, the
        // training set's posterior means for the neighbours, and the pictures.
        let perSample = 3 * config.latent + 3
        add("explanation export", floats: config.evaluatorFloats(maxBatch: 256) + 256 * config.inputDim
            + 3 * count * perSample + 2 * neighbours * config.latent + 64 * config.inputDim * 16 + (4 << 20))
    }

    /// Moments per rank under `--shard-optimizer` (of m or v): the largest rank's slice.
    public static func shardedMoments(parameters: Int, ranks: Int) -> Int {
        (try? OptimizerShard(total: parameters, ranks: max(1, ranks), rank: 0).largest) ?? parameters
    }

    public static func datasetBytes(_ data: Dataset) -> Int { data.count * data.dimension * 4 }

    /// Throws, with the figures, when what is yet to be allocated exceeds the limit.
    public func check(limit: MemoryLimit = .current(sharedBy: MemoryLimit.processesOnThisNode)) throws {
        let needed = total - held
        guard needed > limit.bytes else { return }
        let list = parts.map { "\($0.what) \(MemoryLimit.format($0.bytes))" }.joined(separator: ", ")
        throw ConfigError("\(command) needs about \(MemoryLimit.format(total)) (\(list))"
            + (held > 0 ? ", \(MemoryLimit.format(needed)) of it still to allocate" : "")
            + ", more than the \(limit.description) this rank may still take; \(advice)")
    }

    /// What `train` holds on each rank: the data, the model, Adam's moments, a training workspace
    /// for the rank's share of a batch, evaluation, writing (or on resume reading) checkpoints,
    /// and the export at the end.
    public static func training(_ config: TrainConfig, model: ModelConfig, rowsPerRank: Int, ranks: Int = 1,
                                trainSet: Dataset, testSet: Dataset?, resume: Bool) -> MemoryEstimate {
        var e = MemoryEstimate(command: "train", advice: "choose a smaller model (--hidden, --latent) or --batch-size, or fewer ranks a node")
        e.addHeld("data", bytes: datasetBytes(trainSet) + (testSet.map(datasetBytes) ?? 0))
        e.addModel(model)
        let p = model.parameterCount
        // Sharded, a rank holds the moments of its slice only: the largest slice is the bound.
        let moments = config.shardOptimizer ? Self.shardedMoments(parameters: p, ranks: ranks) : p
        e.add(config.shardOptimizer ? "Adam's moments (this rank's shard)" : "Adam's moments", floats: 2 * moments)
        // The residual is arena-sized; the factors and their message are a small fraction of it.
        if config.gradLowRank > 0 { e.add("the low-rank exchange's residual and factors", floats: 2 * p) }
        e.add("training activations", floats: model.trainingWorkspaceFloats(rows: rowsPerRank))
        // A checkpoint is written from one buffer of parameters and moments; reading one on resume
        // holds the file and its tensors as floats at once.
        e.add(resume ? "reading the checkpoint" : "writing checkpoints", floats: (resume ? 6 : 3) * p)
        if config.evaluateTest, testSet != nil { e.addEvaluation(model) }
        if config.explain, let testSet { e.addExport(model, count: testSet.count, neighbours: trainSet.count) }
        return e
    }
}
