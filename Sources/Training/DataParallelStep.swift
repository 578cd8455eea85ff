import Basics
import Datasets
import Foundation
import Linalg
import MPI
import VAE

struct StepResult {
    /// The loss terms summed over the global batch (named by `VAEModel.lossTermNames`).
    var terms: LossTerms
    var rows: Int
    var finite: Bool
    var stopRequested: Bool
    var reduceSeconds: Double
    /// With `separateWait`: time in a barrier just before the allreduce, i.e. waiting for the
    /// slowest rank to finish its backward pass; `reduceSeconds` is then the transfer alone.
    var waitSeconds = 0.0
}

/// One training step on this rank: its rows of the global batch forward and backward, one
/// in-place allreduce of gradients with the loss sums packed at their tail, then the same Adam
/// update on every rank. Buffers are sized once; the step allocates nothing.
final class DataParallelStep {
    /// Slots after the gradients in the one reduced buffer: the model's loss terms, then these.
    enum Tail: Int, CaseIterable { case rows, stop }

    let model: VAEModel
    let optimizer: Adam
    let workspace: TrainingWorkspace
    let trainSet: Dataset
    let sampler: ShardedSampler
    let config: TrainConfig
    let comm: Communicator
    /// Gradients followed by the tail: exactly what is allreduced.
    let reduced: UnsafeMutableBufferPointer<Float>
    /// Loss terms in the tail; the row count and stop flag follow them.
    let termCount: Int
    /// Slots after the gradients: the terms, then `Tail`.
    static func tailCount(model: VAEModel) -> Int { model.lossTermNames.count + Tail.allCases.count }
    /// For benchmarks only: a barrier before the allreduce splits its time into waiting for the
    /// slowest rank and the transfer itself. Training never sets it (it costs a collective).
    var separateWait = false
    /// Set when gradients travel in buckets or in 16 bits; nil: one fused allreduce.
    let exchange: GradientExchange?
    /// Set under `--shard-optimizer`: reduce-scatter, Adam on this rank's slice, all-gather; in
    /// shared memory when the model's arenas are in `sharedArenas`.
    let sharded: ShardedStepEnd?
    /// Set under `--grad-low-rank`: gradients sent as low-rank factors with error feedback.
    let lowRank: LowRankExchange?

    /// `sharedArenas`: the window the model was built on (`NodeSharedArenas.storage`), if any;
    /// used only under `--shard-optimizer`.
    init(model: VAEModel, optimizer: Adam, trainSet: Dataset, sampler: ShardedSampler, config: TrainConfig, comm: Communicator,
         sharedArenas: NodeSharedArenas? = nil, lowRank: LowRankExchange? = nil) throws {
        self.model = model
        self.optimizer = optimizer
        self.trainSet = trainSet
        self.sampler = sampler
        self.config = config
        self.comm = comm
        workspace = TrainingWorkspace(model: model, maxBatch: max(1, sampler.maxShare))
        termCount = model.lossTermNames.count
        let tail = Self.tailCount(model: model)
        precondition(VAEModel.gradientTailCount >= tail, "gradient arena lacks the reduction tail")
        // Only the tail this model uses travels: a model with two terms sends what it always did.
        reduced = UnsafeMutableBufferPointer(rebasing: model.gradientsWithTail[0..<(model.parameterCount + tail)])
        let compression = HalfPrecisionSum.Format(rawValue: config.gradCompression)
        if config.gradBucketMB > 0 || compression != nil {
            let count = model.parameterCount
            let bucketFloats = config.gradBucketMB > 0 ? Int((config.gradBucketMB * 1_048_576 / 4).rounded(.up)) : count
            let exchange = try GradientExchange(
                comm: comm, gradients: reduced.baseAddress!, count: count,
                tail: UnsafeMutableBufferPointer(rebasing: reduced[count..<(count + tail)]),
                bucketFloats: bucketFloats, compression: compression)
            // Only buckets need to hear from the backward pass; compression alone sends after it.
            if config.gradBucketMB > 0 { workspace.gradientsReady = { [unowned exchange] offset in exchange.ready(offset) } }
            self.exchange = exchange
        } else {
            exchange = nil
        }
        if config.gradLowRank > 0 {
            self.lowRank = lowRank ?? LowRankExchange(layout: model.layout, parameterCount: model.parameterCount, tailCount: tail,
                                                      rank: config.gradLowRank, seed: config.seed, comm: comm)
        } else {
            self.lowRank = nil
        }
        if config.shardOptimizer {
            let shard = try OptimizerShard(total: model.parameterCount, ranks: comm.size, rank: comm.rank)
            if let sharedArenas {
                precondition(sharedArenas.gradients(of: comm.rank) == model.gradientsWithTail.baseAddress,
                             "DataParallelStep: the model is not built on the shared arenas")
                sharded = NodeSharedUpdate(shard: shard, arenas: sharedArenas, optimizer: optimizer, tailCount: Self.tailCount(model: model))
            } else {
                sharded = ShardedUpdate(shard: shard, optimizer: optimizer, parameters: model.parameters,
                                        tailCount: Self.tailCount(model: model), comm: comm)
            }
        } else {
            sharded = nil
        }
        // A block whose loss reads the whole batch (a mixture's balance term) gets the global
        // batch's sums: a few floats, one blocking allreduce under the stall watchdog.
        if workspace.batchStatisticsWidth > 0 {
            workspace.reduceBatchStatistics = { [unowned self] stats in
                do { try self.comm.allreduce(stats, op: .sum) } catch { self.statisticsFailure = error }
            }
        }
    }

    /// An error of the batch statistics' allreduce inside the step, thrown once the step returns.
    private var statisticsFailure: Error?

    func run(epoch: Int, step: Int, permutation: [Int32], klWeight: Float, stopRequested: Bool) throws -> StepResult {
        let (indices, globalRows) = sampler.shard(step: step, permutation: permutation)
        let row = indices.count
        trainSet.copySamples(indices, into: workspace.input.baseAddress!)
        // Noise (and binarization) keyed by each sample's dataset index: independent of the rank.
        workspace.prepareNoise(batch: row, seed: config.seed, epoch: epoch, sampleIndices: indices)

        let count = model.parameterCount
        var sums = model.emptyLossTerms()
        exchange?.begin()
        if row > 0 {
            sums = workspace.forwardBackward(batch: row, klWeight: klWeight, gradScale: 1)
        } else {
            // A rank with no rows this step still joins the allreduces, with zeros.
            workspace.reduceEmptyBatchStatistics()
            for i in 0..<count { reduced[i] = 0 }
        }
        if let failure = statisticsFailure { statisticsFailure = nil; throw failure }
        for t in 0..<termCount { reduced[count + t] = Float(sums[t]) }
        reduced[count + termCount + Tail.rows.rawValue] = Float(row)
        reduced[count + termCount + Tail.stop.rawValue] = stopRequested ? 1 : 0

        var waitSeconds = 0.0
        if separateWait {
            let w0 = Clock.now()
            try comm.barrier()
            waitSeconds = Clock.now() - w0
        }
        if let sharded {
            // The sharded update sums the tail in place and makes the finite / clipping decision.
            let update = try sharded.run(arena: reduced, globalRows: globalRows, clipNorm: config.clipNorm)
            var terms = model.emptyLossTerms()
            for t in 0..<termCount { terms[t] = Double(reduced[count + t]) }
            return StepResult(terms: terms, rows: Int(reduced[count + termCount + Tail.rows.rawValue].rounded()), finite: update.finite,
                              stopRequested: reduced[count + termCount + Tail.stop.rawValue] > 0, reduceSeconds: update.seconds,
                              waitSeconds: waitSeconds)
        }
        let t0 = Clock.now()
        let reduceSeconds: Double
        if let exchange {
            try exchange.finish()
            // Communication inside the backward pass (launches, progress) counts too.
            reduceSeconds = exchange.seconds
        } else if let lowRank {
            // The factors' products and residuals count as communication: they exist only to send less.
            try lowRank.exchange(reduced)
            reduceSeconds = lowRank.seconds
        } else {
            try comm.allreduce(reduced, op: .sum)
            reduceSeconds = Clock.now() - t0
        }

        var terms = model.emptyLossTerms()
        for t in 0..<termCount { terms[t] = Double(reduced[count + t]) }
        let rows = Int(reduced[count + termCount + Tail.rows.rawValue].rounded())
        let gradients = UnsafeMutableBufferPointer(rebasing: reduced[0..<count])
        // The weight KL depends on the parameters alone, which every rank holds identically: each
        // rank adds the same value and gradient here, after the sum, so the job counts it once.
        // Per sample it weighs KL / N; the gradients are sums over the global batch's rows (Adam
        // divides by them below), so it enters as rows · KL / N.
        if let weightKL = model.weightKL, let w = model.weightKLTermIndex, rows > 0 {
            let perRows = Float(rows) / Float(max(trainSet.count, 1))
            let value = weightKL.accumulate(parameters: model.parameters.baseAddress!, gradients: gradients.baseAddress!,
                                            scale: perRows)
            terms[w] = value * Double(perRows)
        }
        // Every rank holds the same reduced values, so every rank takes the same decision here.
        // The division by the global batch (and any clipping) is folded into Adam's pass.
        var scale = 1 / Float(max(globalRows, 1))
        var finite = terms.allFinite
        if finite, config.clipNorm > 0 {
            let norm = Float(Reductions.sumOfSquaresPrecise(gradients.baseAddress!, count: count).squareRoot()) * scale
            finite = norm.isFinite
            if norm > config.clipNorm { scale *= config.clipNorm / (norm + 1e-6) }
        } else if finite {
            finite = Reductions.allFinite(gradients.baseAddress!, count: count)
        }
        if finite {
            optimizer.update(parameters: model.parameters, gradients: gradients, gradScale: scale)
        } else {
            // A non-finite gradient left in the residual would return in every later step.
            lowRank?.reset()
        }
        return StepResult(terms: terms, rows: rows, finite: finite,
                          stopRequested: reduced[count + termCount + Tail.stop.rawValue] > 0, reduceSeconds: reduceSeconds,
                          waitSeconds: waitSeconds)
    }
}
