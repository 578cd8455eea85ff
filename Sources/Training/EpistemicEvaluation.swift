import Datasets
import Foundation
import MPI
import VAE

/// What T weight samples of a Bayesian model say about a dataset, per sample and on average.
public struct EpistemicResult {
    public var count: Int
    public var weightSamples: Int
    /// Mean −ELBO (reconstruction + KL(q(z|x) ‖ p(z))) of the deterministic network (weights at
    /// their means), and the weight KL per training sample (KL(q(W) ‖ p(W)) / N) that the ELBO over
    /// z and W adds to it.
    public var negELBOAtMeans: Double
    public var weightKLPerSample: Double
    /// Mean over samples of −log((1/T) Σ_t exp(−b_t)), b_t the sample's IWAE bound (or −ELBO with
    /// K = 0) under weight sample t: the predictive −log p(x) estimate.
    public var predictiveNLL: Double
    /// Mean −ELBO over the T weight samples.
    public var negELBOSampled: Double
    /// Per sample (rank 0 holds all): the spread across weight samples of the posterior mean of z
    /// (mean over latent dimensions of its variance) and of the reconstruction (mean over values
    /// of its variance), the deterministic −ELBO and the predictive −log p(x).
    public var latentSpread: [Double]
    public var reconSpread: [Double]
    /// The standard deviation of the sample's −ELBO across the weight samples (how much the
    /// weights' uncertainty moves its likelihood).
    public var elboSpread: [Double]
    public var negELBO: [Double]
    public var predictive: [Double]
    /// Per sample and latent dimension (`count x latent`, row-major): the variance across weight
    /// samples of the posterior mean, its mean across them, and the mean of the posterior's own
    /// variance exp(log sigma^2) (what the code's width is, against which the spread is measured).
    public var latentSpreadPerDim: [Double]
    public var latentMeanPerDim: [Double]
    public var posteriorVariancePerDim: [Double]
    /// Per sample, Bernoulli likelihood only (zeros otherwise): the mutual information between
    /// the pixels and the weights, Σ_pixels H(mean_t p_t) − mean_t H(p_t) in nats, and the mean
    /// over pixels of p̄(1 − p̄), the predictive Bernoulli variance.
    public var reconMutualInformation: [Double]
    public var reconPredictiveVariance: [Double]
    /// Per-value reconstruction variance of the samples asked for in `maps`, in their order.
    public var maps: [[Double]]
}

/// Runs the evaluator with weights at their means and then with T weight samples, each rank on
/// its share of whole canonical blocks, so every per-sample figure is the same bit for bit on any
/// rank count (every slot of the gathered arrays has one contributor).
public final class EpistemicEvaluation {
    let model: VAEModel
    let dataset: Dataset
    let comm: Communicator
    let seed: UInt64
    let evaluator: Evaluator
    let batch = 4 * EvaluationBlocks.rows

    public init(model: VAEModel, dataset: Dataset, comm: Communicator, seed: UInt64) {
        self.model = model
        self.dataset = dataset
        self.comm = comm
        self.seed = seed
        evaluator = Evaluator(model: model)
        evaluator.weightSeed = seed
    }

    /// `trainingCount`: N of the weight KL's 1/N. `maps`: sample indices whose per-value maps to keep.
    public func run(weightSamples T: Int, iwaeK: Int, trainingCount: Int, maps: [Int] = [],
                    progress: ((Int, Int) -> Void)? = nil) throws -> EpistemicResult {
        let N = dataset.count, D = dataset.dimension, L = model.config.latent
        let range = EvaluationBlocks.share(samples: N, rank: comm.rank, worldSize: comm.size)
        // Slots: latent spread, recon spread, −ELBO at means, predictive, mean sampled −ELBO, its spread.
        var perSample = [Double](repeating: 0, count: 6 * N)
        var mapValues = [Double](repeating: 0, count: maps.count * D)
        let input = FloatBuffer(count: batch * D)
        let mu = FloatBuffer(count: batch * L), logvar = FloatBuffer(count: batch * L)
        let image = FloatBuffer(count: batch * D)
        var muSum = [Double](), muSq = [Double](), imSum = [Double](), imSq = [Double]()
        var lseMax = [Double](), lseSum = [Double](), elboSum = [Double](), elboSq = [Double]()
        var pvSum = [Double](), entSum = [Double]()
        var perDim = [Double](repeating: 0, count: 3 * N * L)
        var information = [Double](repeating: 0, count: 2 * N)
        let bernoulli = model.config.likelihood == .bernoulli
        func entropy(_ p: Double) -> Double {
            let q = Swift.min(Swift.max(p, 1e-12), 1 - 1e-12)
            return -(q * Foundation.log(q) + (1 - q) * Foundation.log(1 - q))
        }
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(batch, range.upperBound - start)
            for r in 0..<n { dataset.copySample(start + r, into: input.pointer + r * D) }
            evaluator.weightSample = nil
            let atMeans = evaluator.evaluate(batch: n, input: input.pointer, noiseSeed: seed, firstSampleIndex: start, iwaeK: 0)
            muSum = Array(repeating: 0, count: n * L); muSq = muSum
            imSum = Array(repeating: 0, count: n * D); imSq = imSum
            lseMax = Array(repeating: -.infinity, count: n); lseSum = Array(repeating: 0, count: n)
            elboSum = Array(repeating: 0, count: n); elboSq = elboSum
            pvSum = Array(repeating: 0, count: n * L); entSum = Array(repeating: 0, count: n * D)
            for t in 0..<T {
                evaluator.weightSample = t
                let sampled = evaluator.evaluate(batch: n, input: input.pointer, noiseSeed: seed, firstSampleIndex: start,
                                                 iwaeK: iwaeK)
                evaluator.encode(batch: n, input: input.pointer, mu: mu.pointer, logvar: logvar.pointer, firstIndex: start)
                evaluator.decode(batch: n, z: mu.pointer, output: image.pointer, firstIndex: start)
                for i in 0..<(n * L) {
                    let v = Double(mu.pointer[i]); muSum[i] += v; muSq[i] += v * v
                    pvSum[i] += Foundation.exp(Double(logvar.pointer[i]))
                }
                for i in 0..<(n * D) { let v = Double(image.pointer[i]); imSum[i] += v; imSq[i] += v * v }
                if bernoulli { for i in 0..<(n * D) { entSum[i] += entropy(Double(image.pointer[i])) } }
                for r in 0..<n {
                    let b = -(sampled[r].iwaeNLL ?? sampled[r].negativeELBO)
                    elboSum[r] += sampled[r].negativeELBO
                    elboSq[r] += sampled[r].negativeELBO * sampled[r].negativeELBO
                    if b > lseMax[r] {
                        lseSum[r] = lseSum[r] * Foundation.exp(lseMax[r] - b) + 1
                        lseMax[r] = b
                    } else {
                        lseSum[r] += Foundation.exp(b - lseMax[r])
                    }
                }
            }
            let invT = 1 / Double(max(T, 1))
            func variance(_ s: Double, _ q: Double) -> Double { Swift.max(0, q * invT - (s * invT) * (s * invT)) }
            for r in 0..<n {
                let g = start + r
                var lz = 0.0, lx = 0.0
                for j in 0..<L {
                    let v = variance(muSum[r * L + j], muSq[r * L + j])
                    lz += v
                    perDim[g * L + j] = v
                    perDim[N * L + g * L + j] = muSum[r * L + j] * invT
                    perDim[2 * N * L + g * L + j] = pvSum[r * L + j] * invT
                }
                var mi = 0.0, pv = 0.0
                for j in 0..<D {
                    lx += variance(imSum[r * D + j], imSq[r * D + j])
                    let p = imSum[r * D + j] * invT
                    pv += p * (1 - p)
                    if bernoulli { mi += entropy(p) - entSum[r * D + j] * invT }
                }
                information[g] = Swift.max(0, mi)
                information[N + g] = pv / Double(D)
                perSample[g] = lz / Double(L)
                perSample[N + g] = lx / Double(D)
                perSample[2 * N + g] = atMeans[r].negativeELBO
                perSample[3 * N + g] = -(lseMax[r] + Foundation.log(lseSum[r]) - Foundation.log(Double(max(T, 1))))
                perSample[4 * N + g] = elboSum[r] * invT
                perSample[5 * N + g] = variance(elboSum[r], elboSq[r]).squareRoot()
                if let m = maps.firstIndex(of: g) {
                    for j in 0..<D { mapValues[m * D + j] = variance(imSum[r * D + j], imSq[r * D + j]) }
                }
            }
            start += n
            progress?(start - range.lowerBound, range.count)
        }
        try comm.allreduce(&perSample, op: .sum)
        if !maps.isEmpty { try comm.allreduce(&mapValues, op: .sum) }
        try comm.allreduce(&perDim, op: .sum)
        try comm.allreduce(&information, op: .sum)
        func mean(_ slot: Int) -> Double {
            var s = 0.0
            for g in 0..<N { s += perSample[slot * N + g] }
            return s / Double(max(N, 1))
        }
        let kl = model.weightKL.map { $0.value(parameters: model.parameters.baseAddress!) } ?? 0
        return EpistemicResult(
            count: N, weightSamples: T, negELBOAtMeans: mean(2), weightKLPerSample: kl / Double(max(trainingCount, 1)),
            predictiveNLL: mean(3), negELBOSampled: mean(4),
            latentSpread: Array(perSample[0..<N]), reconSpread: Array(perSample[N..<(2 * N)]),
            elboSpread: Array(perSample[(5 * N)..<(6 * N)]),
            negELBO: Array(perSample[(2 * N)..<(3 * N)]), predictive: Array(perSample[(3 * N)..<(4 * N)]),
            latentSpreadPerDim: Array(perDim[0..<(N * L)]), latentMeanPerDim: Array(perDim[(N * L)..<(2 * N * L)]),
            posteriorVariancePerDim: Array(perDim[(2 * N * L)..<(3 * N * L)]),
            reconMutualInformation: Array(information[0..<N]), reconPredictiveVariance: Array(information[N..<(2 * N)]),
            maps: (0..<maps.count).map { Array(mapValues[($0 * D)..<(($0 + 1) * D)]) })
    }
}

/// How well a per-sample score tells one class from the others, and each class's mean score.
public struct OutOfDistributionScore {
    public var classMeans: [Int32: Double]
    public var heldOut: Int32
    /// Mean score of the held-out class over the mean over the samples of the other classes.
    public var ratio: Double
    /// P(score of a held-out sample > score of another), ties counted half (Mann–Whitney).
    public var auroc: Double

    public init(scores: [Double], labels: [Int32], heldOut: Int32) {
        var sums: [Int32: (Double, Int)] = [:]
        for (s, l) in zip(scores, labels) { sums[l, default: (0, 0)].0 += s; sums[l, default: (0, 0)].1 += 1 }
        classMeans = sums.mapValues { $0.0 / Double(max($0.1, 1)) }
        self.heldOut = heldOut
        var inSum = 0.0, inCount = 0
        for (s, l) in zip(scores, labels) where l != heldOut { inSum += s; inCount += 1 }
        ratio = (classMeans[heldOut] ?? .nan) / (inSum / Double(max(inCount, 1)))
        auroc = Self.auroc(scores: scores, positive: labels.map { $0 == heldOut })
    }

    /// Rank-sum AUROC with average ranks for ties.
    public static func auroc(scores: [Double], positive: [Bool]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let r = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = r }
            i = j + 1
        }
        let nPos = positive.filter { $0 }.count, nNeg = positive.count - nPos
        guard nPos > 0, nNeg > 0 else { return .nan }
        var sum = 0.0
        for (r, p) in zip(ranks, positive) where p { sum += r }
        return (sum - Double(nPos * (nPos + 1)) / 2) / Double(nPos * nNeg)
    }
}
