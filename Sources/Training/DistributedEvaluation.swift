import Datasets
import MPI
import VAE

public struct EvaluationResult {
    /// Per-sample means of the loss terms, named by `termNames` (the model's `lossTermNames`).
    public var terms: LossTerms
    public var termNames: [String]
    /// Importance-weighted estimate of -log p(x), when asked for.
    public var negLogLikelihood: Double?
    public var count: Int

    /// The mean −ELBO: the terms' sum.
    public var negELBO: Double { terms.total }
    public var recon: Double { terms.recon }
    /// The terms besides the reconstruction (the VAE's KL).
    public var kl: Double { terms.regularizer }

    /// How a term is written in text: the KLs in capitals, as the literature writes them.
    public static func displayName(_ term: String) -> String {
        term == "kl" ? "KL" : term.hasPrefix("kl_") ? "KL_" + term.dropFirst(3) : term
    }
}

/// Mean -ELBO (and optionally the IWAE bound) over a dataset, each rank taking a contiguous share
/// of whole canonical blocks (`EvaluationBlocks`). A sample's noise is keyed by its index and its
/// products are those of its block, so its terms are the same bit for bit on any rank count; the
/// means are too: each block's terms are summed in sample order, the block sums travel in one
/// allreduce in which every slot has one contributor (a sum with zeros is exact in any order), and
/// every rank adds them up in block order.
public final class DistributedEvaluation {
    let model: VAEModel
    let dataset: Dataset
    let comm: Communicator
    let seed: UInt64
    /// Samples per evaluator call: four blocks, for progress reports and a bounded input buffer.
    let batch = 4 * EvaluationBlocks.rows
    // Allocated once: the trainer evaluates after every epoch.
    let evaluator: Evaluator
    let input: FloatBuffer

    /// N of a Bayesian model's weight KL / N (the training set's size); its term reads 0 without.
    let trainingCount: Int?

    public init(model: VAEModel, dataset: Dataset, comm: Communicator, seed: UInt64, trainingCount: Int? = nil) {
        self.trainingCount = trainingCount
        self.model = model
        self.dataset = dataset
        self.comm = comm
        self.seed = seed
        evaluator = Evaluator(model: model)
        input = FloatBuffer(count: batch * dataset.dimension)
    }

    /// Each sample's posterior refined from the encoder's output before its ELBO and IWAE (see
    /// `Evaluator.refinement`); nil: the encoder's posterior.
    public var refinement: RefinementSettings? {
        get { evaluator.refinement }
        set { evaluator.refinement = newValue }
    }

    /// `progress` hears (done, share) for this rank's share after each batch: long IWAE runs
    /// should show they are alive.
    public func run(iwaeK: Int = 0, progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let range = EvaluationBlocks.share(samples: dataset.count, rank: comm.rank, worldSize: comm.size)
        let dim = dataset.dimension, B = EvaluationBlocks.rows
        // Per block: each loss term, then -log p(x) (IWAE).
        let T = model.lossTermNames.count, W = T + 1
        var sums = [Double](repeating: 0, count: W * max(1, EvaluationBlocks.count(samples: dataset.count)))
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(batch, range.upperBound - start)
            for r in 0..<n { dataset.copySample(start + r, into: input.pointer + r * dim) }
            let results = evaluator.evaluate(batch: n, input: input.pointer, noiseSeed: seed,
                                             firstSampleIndex: start, iwaeK: iwaeK)
            for (r, e) in results.enumerated() {
                let slot = W * ((start + r) / B)
                for t in 0..<T { sums[slot + t] += e.terms[t] }
                sums[slot + T] += e.iwaeNLL ?? 0
            }
            start += n
            progress?(start - range.lowerBound, range.count)
        }
        try comm.allreduce(&sums, op: .sum)
        var terms = model.emptyLossTerms()
        var nll = 0.0
        for b in stride(from: 0, to: sums.count, by: W) {
            for t in 0..<T { terms[t] += sums[b + t] }
            nll += sums[b + T]
        }
        let count = Double(max(dataset.count, 1))
        terms = terms.divided(by: count)
        if let w = model.weightKLTermIndex, let weightKL = model.weightKL, let n = trainingCount {
            terms[w] = weightKL.value(parameters: model.parameters.baseAddress!) / Double(max(n, 1))
        }
        return EvaluationResult(terms: terms, termNames: model.lossTermNames,
                                negLogLikelihood: iwaeK > 0 ? nll / count : nil, count: dataset.count)
    }
}
