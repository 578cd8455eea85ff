import Datasets
import MPI
import VAE

public struct EvaluationResult {
    public var negELBO: Double
    public var recon: Double
    public var kl: Double
    /// Importance-weighted estimate of -log p(x), when asked for.
    public var negLogLikelihood: Double?
    public var count: Int
}

/// Mean -ELBO (and optionally the IWAE bound) over a dataset, each rank taking a contiguous share
/// of its samples. The noise of sample i is keyed by i, so the result does not depend on the rank
/// count beyond the order of a few floating-point sums.
public final class DistributedEvaluation {
    let model: VAEModel
    let dataset: Dataset
    let comm: Communicator
    let seed: UInt64
    let batch = 256
    // Allocated once: the trainer evaluates after every epoch.
    let evaluator: Evaluator
    let input: FloatBuffer

    public init(model: VAEModel, dataset: Dataset, comm: Communicator, seed: UInt64) {
        self.model = model
        self.dataset = dataset
        self.comm = comm
        self.seed = seed
        evaluator = Evaluator(model: model, maxBatch: batch)
        input = FloatBuffer(count: batch * dataset.dimension)
    }

    /// `progress` hears (done, share) for this rank's share after each batch: long IWAE runs
    /// should show they are alive.
    public func run(iwaeK: Int = 0, progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let range = ShardedSampler.contiguousShare(of: dataset.count, rank: comm.rank, worldSize: comm.size)
        let dim = dataset.dimension
        // recon, kl, -log p(x) (IWAE), count
        var sums = [Double](repeating: 0, count: 4)
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(batch, range.upperBound - start)
            for r in 0..<n { dataset.copySample(start + r, into: input.pointer + r * dim) }
            let results = evaluator.evaluate(batch: n, input: input.pointer, noiseSeed: seed,
                                             firstSampleIndex: start, iwaeK: iwaeK)
            for e in results {
                sums[0] += e.recon; sums[1] += e.kl
                sums[2] += e.iwaeNLL ?? 0
            }
            sums[3] += Double(n)
            start += n
            progress?(start - range.lowerBound, range.count)
        }
        try comm.allreduce(&sums, op: .sum)
        let count = max(sums[3], 1)
        return EvaluationResult(negELBO: (sums[0] + sums[1]) / count, recon: sums[0] / count, kl: sums[1] / count,
                                negLogLikelihood: iwaeK > 0 ? sums[2] / count : nil, count: Int(sums[3]))
    }
}
