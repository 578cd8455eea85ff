import Foundation
import MPI
import VAE

/// A model rebuilt from a checkpoint for `evaluate` and `explain`: rank 0 reads and verifies the
/// file, every rank receives the config and parameters, so only rank 0 needs to see the file.
public enum CheckpointedModel {
    /// A checkpoint file as given, or the newest one of a run: `--checkpoint` also takes a run
    /// directory, its `checkpoints/` folder, or the `latest` pointer file.
    public static func resolve(_ path: String) throws -> String {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
        let run: String
        if exists && isDirectory.boolValue {
            if fm.fileExists(atPath: path + "/checkpoints") {
                run = path
            } else if (path as NSString).lastPathComponent == "checkpoints" {
                run = (path as NSString).deletingLastPathComponent
            } else {
                throw ConfigError("\(path): a directory, but not a run directory (no checkpoints/ in it); pass a .safetensors file")
            }
        } else if (path as NSString).lastPathComponent == CheckpointStore.latestFileName {
            run = ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        } else {
            return path
        }
        let store = CheckpointStore(runDirectory: run.isEmpty ? "." : run)
        guard let name = try store.readLatestPointer() else {
            throw ConfigError("\(path): no \(store.latestPath) names a checkpoint; pass a .safetensors file")
        }
        return store.directory + "/" + name
    }

    /// `budget` says what the command holds besides the model for a model of the checkpoint's
    /// configuration: every rank checks it against its memory before the model is built.
    public static func load(path: String, comm: Communicator,
                            budget: (ModelConfig) -> MemoryEstimate = { _ in MemoryEstimate(command: "loading the model", advice: "") })
    throws -> (model: VAEModel, metadata: [String: String]) {
        var loaded: LoadedCheckpoint?
        var metadataJSON = ""
        try comm.rootDecides {
            let checkpoint = try CheckpointStore.load(path: try resolve(path))
            guard let text = checkpoint.metadata["model_config"] else {
                throw ConfigError("\(path): not an mpivae checkpoint (no model_config in its metadata)")
            }
            // The file's tensors must be the configuration's, shape for shape, before a model of
            // that configuration is built: a configuration edited to ask for a huge model (with
            // checksums made to hold) is refused here, not after gigabytes were allocated for it.
            if let config = ModelConfigJSON.decode(text), (try? config.validate()) != nil {
                try checkShapes(of: checkpoint, against: config)
            }
            let data = try JSONSerialization.data(withJSONObject: checkpoint.metadata, options: [.sortedKeys])
            metadataJSON = String(decoding: data, as: UTF8.self)
            loaded = checkpoint
        }
        metadataJSON = try comm.broadcast(string: metadataJSON, root: 0)
        let metadata = (try? JSONSerialization.jsonObject(with: Data(metadataJSON.utf8))) as? [String: String] ?? [:]
        guard let text = metadata["model_config"], let config = ModelConfigJSON.decode(text) else {
            throw AgreedError("\(path): its model_config metadata is not a model configuration this version reads")
        }
        // Every rank decodes the same text, so every rank reaches the same verdict.
        do { try config.validate() } catch { throw AgreedError("\(path): \(error)") }
        _ = try comm.everyoneSucceeds("sizing the model") {
            var estimate = budget(config)
            if comm.rank == 0, let loaded {
                estimate.addHeld("checkpoint", bytes: loaded.tensors.values.reduce(0) { $0 + 4 * $1.values.count })
            }
            try estimate.check()
        }
        let model = VAEModel(config: config, seed: 0)
        try comm.rootDecides {
            guard let loaded else { return }
            for spec in model.layout {
                try loaded.copy(spec.name, shape: spec.shape,
                                into: UnsafeMutableBufferPointer(rebasing: model.parameters[spec.offset..<(spec.offset + spec.count)]))
            }
        }
        try comm.broadcast(model.parameters, root: 0)
        return (model, metadata)
    }

    /// Every tensor of `config`'s model is in `checkpoint` with its shape, and nothing else is.
    static func checkShapes(of checkpoint: LoadedCheckpoint, against config: ModelConfig) throws {
        let specs = config.tensorSpecs
        for spec in specs {
            guard let tensor = checkpoint.tensors[spec.name] else {
                _ = try checkpoint.tensor(spec.name)  // a checkpoint it knows the reason for
                throw ConfigError("\(checkpoint.path): its model_config describes a model with tensor '\(spec.name)' of shape \(spec.shape), which the file does not hold")
            }
            guard tensor.shape == spec.shape else {
                throw ConfigError("\(checkpoint.path): tensor '\(spec.name)' has shape \(tensor.shape), its model_config asks for \(spec.shape)")
            }
        }
        let expected = Set(specs.map(\.name))
        if let extra = checkpoint.tensorNames.first(where: { !expected.contains($0) && !$0.hasPrefix("optimizer.") }) {
            throw ConfigError("\(checkpoint.path): tensor '\(extra)' is not part of the model its model_config describes")
        }
    }
}
