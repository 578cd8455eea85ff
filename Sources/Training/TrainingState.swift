import Datasets
import Foundation
import MPI
import VAE

/// The model and optimizer as a checkpoint sees them: every parameter by its structural name,
/// Adam's moments as `optimizer.m.<name>` / `optimizer.v.<name>`, and the position and configs in
/// the metadata. Rank 0 writes and reads; the others receive by broadcast, so no shared
/// filesystem is needed.
final class TrainingState {
    let model: VAEModel
    let optimizer: Adam
    /// Under `--shard-optimizer`: the slice of the arena `optimizer` holds moments for. The
    /// checkpoint still holds whole moments (gathered to rank 0 to save, cut up again on restore),
    /// so it resumes on any rank count, sharded or not.
    let shard: OptimizerShard?
    /// Under `--grad-low-rank`: the exchange whose residual and Q are optimizer state too.
    let lowRank: LowRankExchange?
    /// Rank 0's newest write: where, its data checksum, and how long writing took.
    private(set) var lastSaved: CheckpointStore.Saved?
    /// The arithmetic settings the checkpoint resumed from was computed with, on every rank.
    private(set) var savedArithmetic: String?

    init(model: VAEModel, optimizer: Adam, shard: OptimizerShard? = nil, lowRank: LowRankExchange? = nil) {
        precondition(optimizer.count == (shard?.range.count ?? model.parameterCount), "TrainingState: moments do not match the shard")
        self.model = model
        self.optimizer = optimizer
        self.shard = shard
        self.lowRank = lowRank
    }

    /// Whole-arena moments for a checkpoint: Adam's own when unsharded; sharded, buffers on rank 0
    /// that only live while the checkpoint is written or read (the other ranks get empty ones).
    private func wholeMoments(comm: Communicator) -> (m: FloatBuffer, v: FloatBuffer)? {
        guard shard != nil else { return nil }
        let n = comm.rank == 0 ? model.parameterCount : 0
        return (FloatBuffer(count: n), FloatBuffer(count: n))
    }

    func tensors(m: UnsafeMutableBufferPointer<Float>? = nil, v: UnsafeMutableBufferPointer<Float>? = nil)
        -> [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] {
        let m = m ?? optimizer.m, v = v ?? optimizer.v
        func slice(_ arena: UnsafeMutableBufferPointer<Float>, _ spec: TensorSpec) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(rebasing: arena[spec.offset..<(spec.offset + spec.count)])
        }
        var list: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] = []
        for spec in model.layout { list.append((spec.name, spec.shape, slice(model.parameters, spec))) }
        for spec in model.layout { list.append(("optimizer.m." + spec.name, spec.shape, slice(m, spec))) }
        for spec in model.layout { list.append(("optimizer.v." + spec.name, spec.shape, slice(v, spec))) }
        return list
    }

    func metadata(position: TrainingPosition, config: TrainConfig, modelConfig: ModelConfig, worldSize: Int, datasetCount: Int) -> [String: String] {
        [
            "format": "mpivae-checkpoint",
            "model_config": ModelConfigJSON.encode(modelConfig),
            "train_config": config.canonicalJSON(),
            "epoch": String(position.epoch),
            "step_in_epoch": String(position.stepInEpoch),
            "step": String(position.globalStep),
            "sample_position": String(position.samplePosition(datasetCount: datasetCount, batch: config.batchSize)),
            "dataset_count": String(datasetCount),
            "seed": String(config.seed),
            "world_size": String(worldSize),
            "adam_step": String(optimizer.step),
            ArithmeticSettings.metadataKey: ArithmeticSettings.currentJSON(),
        ]
    }

    /// Rank 0 writes; a failure to write is every rank's failure, so nobody trains on unsaved.
    func save(to store: CheckpointStore, position: TrainingPosition, comm: Communicator, config: TrainConfig,
              modelConfig: ModelConfig, datasetCount: Int, log: (String) -> Void) throws {
        let whole = wholeMoments(comm: comm)
        if let shard, let whole {
            try gather(optimizer.m, into: whole.m.buffer, shard: shard, comm: comm)
            try gather(optimizer.v, into: whole.v.buffer, shard: shard, comm: comm)
        }
        let lowRankState = try lowRank?.checkpointTensors()
        try comm.rootDecides {
            let meta = metadata(position: position, config: config, modelConfig: modelConfig,
                                worldSize: comm.size, datasetCount: datasetCount)
            let tag = String(format: "e%06ld-s%010ld", position.epoch, position.globalStep)
            let list = tensors(m: whole?.m.buffer, v: whole?.v.buffer) + (lowRankState?.tensors ?? [])
            lastSaved = try withExtendedLifetime(lowRankState?.keep) {
                try store.save(tensors: list, metadata: meta, tag: tag)
            }
        }
    }

    private func gather(_ slice: UnsafeMutableBufferPointer<Float>, into whole: UnsafeMutableBufferPointer<Float>,
                        shard: OptimizerShard, comm: Communicator) throws {
        try shard.counts.withUnsafeBufferPointer { c in
            try shard.displacements.withUnsafeBufferPointer { d in
                try comm.gatherSlices(UnsafeBufferPointer(slice), into: whole, counts: c, displacements: d, root: 0)
            }
        }
    }

    private func scatter(_ whole: UnsafeMutableBufferPointer<Float>, into slice: UnsafeMutableBufferPointer<Float>,
                         shard: OptimizerShard, comm: Communicator) throws {
        try shard.counts.withUnsafeBufferPointer { c in
            try shard.displacements.withUnsafeBufferPointer { d in
                try comm.scatterSlices(UnsafeBufferPointer(whole), into: slice, counts: c, displacements: d, root: 0)
            }
        }
    }

    /// Loads the newest checkpoint that verifies on rank 0 and gives it to every rank.
    /// The position comes from the checkpoint's global sample position, located with this run's
    /// sampler: the same samples come next whatever the rank count, and a batch size that does not
    /// divide the saved position is refused rather than guessed.
    func restoreNewest(from store: CheckpointStore, comm: Communicator, modelConfig: ModelConfig,
                       sampler: ShardedSampler, log: (String) -> Void) throws -> TrainingPosition {
        var header = [Int64](repeating: 0, count: 5)  // found, epoch, step in epoch, global step, adam step
        var arithmetic = ""
        let whole = wholeMoments(comm: comm)
        try comm.rootDecides {
            guard let loaded = try store.loadNewestValid(warn: { log("warning: \($0)") }) else {
                // Starting over would write its checkpoints over these, under the same names.
                let unreadable = store.checkpointFileNames()
                if !unreadable.isEmpty {
                    let files = unreadable.count == 1 ? "1 checkpoint file" : "\(unreadable.count) checkpoint files"
                    throw ConfigError("--resume \(store.runDirectory): \(files) in \(store.directory) but none loads (see the warnings above); starting over would overwrite them, so move them elsewhere to start afresh")
                }
                log("warning: no checkpoint in \(store.directory); starting from the beginning")
                return
            }
            let position = try install(loaded, modelConfig: modelConfig, sampler: sampler, m: whole?.m.buffer, v: whole?.v.buffer)
            log("resuming from \(loaded.path)")
            if let note = try lowRank?.install(loaded) { log("note: \(note)") }
            arithmetic = loaded.metadata[ArithmeticSettings.metadataKey] ?? ""
            header = [1, Int64(position.epoch), Int64(position.stepInEpoch), Int64(position.globalStep), Int64(optimizer.step)]
        }
        try comm.broadcast(&header, root: 0)
        guard header[0] == 1 else { return TrainingPosition() }
        arithmetic = try comm.broadcast(string: arithmetic, root: 0)
        savedArithmetic = arithmetic.isEmpty ? nil : arithmetic
        try comm.broadcast(model.parameters, root: 0)
        if let shard, let whole {
            try scatter(whole.m.buffer, into: optimizer.m, shard: shard, comm: comm)
            try scatter(whole.v.buffer, into: optimizer.v, shard: shard, comm: comm)
        } else {
            try comm.broadcast(optimizer.m, root: 0)
            try comm.broadcast(optimizer.v, root: 0)
        }
        try lowRank?.distribute()
        optimizer.step = Int(header[4])
        return TrainingPosition(epoch: Int(header[1]), stepInEpoch: Int(header[2]), globalStep: Int(header[3]))
    }

    /// Bound of a checkpoint's step counts and sample position: 2^53 samples take centuries to
    /// train, so only an edited file holds more, and counting on from a value near Int.max would
    /// overflow the step counter, the next checkpoint's position and Adam's bias correction.
    static let maximumPosition = 1 << 53

    /// Copies a verified checkpoint into the arenas after checking it belongs to this model.
    /// `m`, `v`: where the whole moments go (Adam's own when nil, i.e. unsharded).
    func install(_ loaded: LoadedCheckpoint, modelConfig: ModelConfig, sampler: ShardedSampler,
                 m: UnsafeMutableBufferPointer<Float>? = nil, v: UnsafeMutableBufferPointer<Float>? = nil) throws -> TrainingPosition {
        let m = m ?? optimizer.m, v = v ?? optimizer.v
        let meta = loaded.metadata
        guard let saved = meta["model_config"] else {
            throw ConfigError("\(loaded.path): not an mpivae checkpoint (no model_config in its metadata)")
        }
        let ours = ModelConfigJSON.encode(modelConfig)
        guard ModelConfigJSON.same(saved, ours) else {
            throw ConfigError("\(loaded.path): written for another model (\(saved)); this run's model is \(ours)")
        }
        for spec in model.layout {
            try copy(loaded, spec.name, spec, into: model.parameters)
            try copy(loaded, "optimizer.m." + spec.name, spec, into: m)
            try copy(loaded, "optimizer.v." + spec.name, spec, into: v)
        }
        func int(_ key: String) throws -> Int {
            guard let text = meta[key], let v = Int(text), v >= 0, v <= Self.maximumPosition else {
                throw ConfigError("\(loaded.path): metadata \"\(key)\" should be a whole number from 0 to \(Self.maximumPosition), found \(meta[key] ?? "nothing")")
            }
            return v
        }
        if let saved = meta["dataset_count"], Int(saved) != sampler.datasetCount {
            let data = ModelConfigJSON.savedSetting("data", meta["train_config"]).map { " of \($0)" } ?? ""
            throw ConfigError("\(loaded.path): saved while training on \(saved) samples\(data); the --data of this run has \(sampler.datasetCount)")
        }
        let samplePosition = try int("sample_position")
        guard let (epoch, step) = sampler.locate(globalSamplePosition: samplePosition) else {
            let batch = ModelConfigJSON.savedSetting("batchSize", meta["train_config"]).map { " (it was saved with --batch-size \($0))" } ?? ""
            throw ConfigError("\(loaded.path): its position, global sample \(samplePosition), is not at a step boundary for --batch-size \(sampler.globalBatch)\(batch)")
        }
        optimizer.step = try int("adam_step")
        return TrainingPosition(epoch: epoch, stepInEpoch: step, globalStep: try int("step"))
    }

    private func copy(_ loaded: LoadedCheckpoint, _ name: String, _ spec: TensorSpec, into arena: UnsafeMutableBufferPointer<Float>) throws {
        try loaded.copy(name, shape: spec.shape,
                        into: UnsafeMutableBufferPointer(rebasing: arena[spec.offset..<(spec.offset + spec.count)]))
    }
}

/// The model config as stored in checkpoints: sorted-key JSON, compared by value.
enum ModelConfigJSON {
    static func encode(_ config: ModelConfig) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self)
    }

    static func decode(_ text: String) -> ModelConfig? {
        try? JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8))
    }

    /// A setting recorded in a checkpoint's train_config, for error messages.
    static func savedSetting(_ key: String, _ trainConfigJSON: String?) -> String? {
        guard let text = trainConfigJSON,
              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let value = object[key] else { return nil }
        return "\(value)"
    }

    static func same(_ a: String, _ b: String) -> Bool {
        guard let x = decode(a), let y = decode(b) else { return a == b }
        return x == y
    }
}
