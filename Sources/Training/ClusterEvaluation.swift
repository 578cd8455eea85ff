import Datasets
import MPI
import VAE

/// A mixture model's clusters on a dataset: each sample's cluster is the argmax of its
/// responsibilities q(y|x) (at the posterior mean, `GaussianMixture.posteriorExtra`), each rank
/// counts its share of canonical blocks, and one allreduce of the cluster x label table (counts
/// exact in Double) gives every rank the same sizes, accuracy and NMI on any rank count.
public struct ClusterEvaluation {
    /// Samples in each cluster.
    public var sizes: [Int]
    /// Against the labels, when the data have them.
    public var agreement: ClusterAgreement?

    /// nil when the model has no responsibilities (not a mixture).
    public static func run(model: VAEModel, dataset: Dataset, comm: Communicator) throws -> ClusterEvaluation? {
        guard let index = model.posteriorExtras.firstIndex(where: { $0.name == "responsibilities" }) else { return nil }
        let K = model.posteriorExtras[index].width
        let labels = dataset.labels.flatMap { $0.count == dataset.count ? $0 : nil }
        // Labels are agreed data (the start-up check compares the datasets), so every rank sizes alike.
        let C = max(1, (labels?.max()).map { Int($0) + 1 } ?? 1)
        var table = [Double](repeating: 0, count: K * C)
        let range = EvaluationBlocks.share(samples: dataset.count, rank: comm.rank, worldSize: comm.size)
        let chunk = 4 * EvaluationBlocks.rows, D = dataset.dimension
        let evaluator = Evaluator(model: model)
        let input = FloatBuffer(count: chunk * D), gamma = FloatBuffer(count: chunk * K)
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(chunk, range.upperBound - start)
            for r in 0..<n { dataset.copySample(start + r, into: input.pointer + r * D) }
            evaluator.posteriorExtra(index, batch: n, input: input.pointer, into: gamma.pointer, firstIndex: start)
            for r in 0..<n {
                var best = 0
                for k in 1..<max(K, 1) where gamma.pointer[r * K + k] > gamma.pointer[r * K + best] { best = k }
                let y = labels.map { max(0, Int($0[start + r])) } ?? 0
                table[best * C + y] += 1
            }
            start += n
        }
        try comm.allreduce(&table, op: .sum)
        let counts = (0..<K).map { k in (0..<C).map { Int(table[k * C + $0].rounded()) } }
        return ClusterEvaluation(sizes: counts.map { $0.reduce(0, +) },
                                 agreement: labels == nil ? nil : ClusterAgreement(counts: counts))
    }
}
