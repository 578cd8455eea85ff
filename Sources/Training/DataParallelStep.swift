import Datasets
import Foundation
import Linalg
import MPI
import VAE

struct StepResult {
    var recon: Double
    var kl: Double
    var rows: Int
    var finite: Bool
    var stopRequested: Bool
    var reduceSeconds: Double
}

/// One training step on this rank: its rows of the global batch forward and backward, one
/// in-place allreduce of gradients with the loss sums packed at their tail, then the same Adam
/// update on every rank. Buffers are sized once; the step allocates nothing.
final class DataParallelStep {
    /// Slots after the gradients in the one reduced buffer.
    enum Tail: Int, CaseIterable { case recon, kl, rows, stop }

    let model: VAEModel
    let optimizer: Adam
    let workspace: TrainingWorkspace
    let trainSet: Dataset
    let sampler: ShardedSampler
    let config: TrainConfig
    let comm: Communicator
    /// Gradients followed by the tail: exactly what is allreduced.
    let reduced: UnsafeMutableBufferPointer<Float>
    let uniforms: UnsafeMutableBufferPointer<Float>

    init(model: VAEModel, optimizer: Adam, trainSet: Dataset, sampler: ShardedSampler, config: TrainConfig, comm: Communicator) throws {
        self.model = model
        self.optimizer = optimizer
        self.trainSet = trainSet
        self.sampler = sampler
        self.config = config
        self.comm = comm
        let maxRows = (config.batchSize + comm.size - 1) / comm.size
        workspace = TrainingWorkspace(model: model, maxBatch: max(1, maxRows))
        reduced = model.gradientsWithTail
        precondition(reduced.count == model.parameterCount + Tail.allCases.count, "gradient arena lacks the reduction tail")
        uniforms = .allocate(capacity: config.binarize ? trainSet.dimension : 0)
    }

    deinit { uniforms.deallocate() }

    func run(epoch: Int, step: Int, permutation: [Int32], klWeight: Float, stopRequested: Bool) throws -> StepResult {
        let (indices, globalRows) = sampler.shard(step: step, permutation: permutation)
        let dim = trainSet.dimension, latent = model.config.latent
        let input = workspace.input.baseAddress!, eps = workspace.eps.baseAddress!
        var row = 0
        for index in indices {
            let x = input + row * dim
            trainSet.copySample(Int(index), into: x)
            if config.binarize {
                NoiseGenerator.fillUniform(seed: config.seed, epoch: epoch, sampleIndex: Int(index), stream: 1,
                                           into: uniforms.baseAddress!, count: dim)
                for j in 0..<dim { x[j] = uniforms[j] < x[j] ? 1 : 0 }
            }
            NoiseGenerator.fillGaussian(seed: config.seed, epoch: epoch, sampleIndex: Int(index), stream: 0,
                                        into: eps + row * latent, count: latent)
            row += 1
        }

        let count = model.parameterCount
        var sums = LossSums(recon: 0, kl: 0)
        if row > 0 {
            sums = workspace.forwardBackward(batch: row, klWeight: klWeight, gradScale: 1)
        } else {
            // A rank with no rows this step still joins the allreduce, with zeros.
            for i in 0..<count { reduced[i] = 0 }
        }
        reduced[count + Tail.recon.rawValue] = Float(sums.recon)
        reduced[count + Tail.kl.rawValue] = Float(sums.kl)
        reduced[count + Tail.rows.rawValue] = Float(row)
        reduced[count + Tail.stop.rawValue] = stopRequested ? 1 : 0

        let t0 = monotonicSeconds()
        try comm.allreduce(reduced, op: .sum)
        let reduceSeconds = monotonicSeconds() - t0

        let recon = Double(reduced[count + Tail.recon.rawValue])
        let kl = Double(reduced[count + Tail.kl.rawValue])
        let rows = Int(reduced[count + Tail.rows.rawValue].rounded())
        let gradients = UnsafeMutableBufferPointer(rebasing: reduced[0..<count])
        // Every rank holds the same reduced values, so every rank takes the same decision here.
        let scale = 1 / Float(max(globalRows, 1))
        Elementwise.scale(gradients, by: scale)
        var finite = recon.isFinite && kl.isFinite && Elementwise.allFinite(UnsafeBufferPointer(gradients))
        if finite, config.clipNorm > 0 {
            finite = clipGlobalNorm(gradients, maxNorm: config.clipNorm).isFinite
        }
        if finite {
            optimizer.update(parameters: model.parameters, gradients: gradients)
        }
        return StepResult(recon: recon, kl: kl, rows: rows, finite: finite,
                          stopRequested: reduced[count + Tail.stop.rawValue] > 0, reduceSeconds: reduceSeconds)
    }
}
