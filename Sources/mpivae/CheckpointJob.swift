import Datasets
import Foundation
import MPI
import Training
import VAE

/// The start of `evaluate` and `explain`: every rank loads the data, the ranks agree on it and on
/// the command's options (ranks started differently would compute their shares differently or
/// fail alone), and every rank gets the checkpoint's model, checked against the data.
struct CheckpointJob {
    let comm: Communicator
    /// The data the command works on: the first set `load` returned.
    let data: Dataset
    /// The other sets, in the order `load` returned them.
    let others: [Dataset?]
    let model: VAEModel
    let metadata: [String: String]

    static func split(_ flag: String) throws -> Split {
        guard let split = Split(rawValue: flag) else { throw ConfigError("--split expects train or test, got \(flag)") }
        return split
    }

    /// `budget` adds what the command holds besides the data and the model (see `MemoryEstimate`).
    init(command: String, checkpoint: String, blas: BLASThreadsOption, stall: StallTimeoutOption, options: String,
         budget: @escaping (inout MemoryEstimate, ModelConfig, [Dataset]) -> Void,
         load: () throws -> [(role: String, dataset: Dataset?)]) throws {
        try blas.apply()
        try InputKinds.check("--checkpoint", checkpoint)
        try JobStart.initializeMPI(command: command, stallTimeout: try stall.seconds())
        comm = Communicator.world
        let loaded = try comm.everyoneSucceeds("loading the data", load)
        try DataAgreement.check(loaded, on: comm)
        try StartupAgreement(fields: [("options", options)]).check(on: comm)
        let sets = loaded.compactMap(\.dataset)
        (model, metadata) = try CheckpointedModel.load(path: checkpoint, comm: comm) { config in
            var estimate = MemoryEstimate(command: command, advice: "use fewer importance samples or fewer ranks a node")
            estimate.addHeld("data", bytes: sets.reduce(0) { $0 + MemoryEstimate.datasetBytes($1) })
            estimate.addModel(config)
            budget(&estimate, config, sets)
            return estimate
        }
        // Agreed data and one model: every rank reaches the same verdict below.
        let nonFinite = UnsafeBufferPointer(model.parameters).reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        guard nonFinite == 0 else {
            throw AgreedError("--checkpoint \(checkpoint): \(nonFinite) of its \(model.parameterCount) parameters are not finite (NaN or infinity); \(command) refuses them")
        }
        guard let data = loaded.first?.dataset else { throw AgreedError("no data to work on") }
        self.data = data
        others = loaded.dropFirst().map(\.dataset)
        guard data.dimension == model.config.inputDim else {
            throw AgreedError("--data \(data.name): samples have \(data.dimension) values, the checkpoint's model takes \(model.config.inputDim)")
        }
        do { try LikelihoodFit.check(data, for: model.config) } catch { throw AgreedError("\(error)") }
    }
}
