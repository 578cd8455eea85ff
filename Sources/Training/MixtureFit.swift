import Datasets
import Foundation
import MPI
import VAE

/// Fits the GMVAE's mixture to the encoder: the posterior means of the whole training set, then
/// k-means (k-means++ seeding, Lloyd's iterations, the best of a few restarts by inertia), then a
/// few EM steps of a diagonal Gaussian mixture started from it; the components become
/// `prior.means` and `prior.logvars` (each cluster's variance of the means plus its members' mean
/// posterior variance: the spread of z, not of mu). Components with full covariances get their
/// own fit (`fitFull`: several k-means starts, full-covariance EM from each, the most likely kept)
/// and `prior.precision_cholesky`.
///
/// Why: trained from the start, the mixture's components settle on whatever the untrained encoder
/// separates, and the ELBO has no pull towards clusters a user can read; a VAE phase followed by
/// this fit is the pretraining recipe that makes the GMVAE cluster (as VaDE's authors do with an
/// autoencoder), done inside the same run on the same model.
///
/// Data-parallel and deterministic: each rank encodes its share of canonical evaluation blocks
/// (bit for bit the same values whatever the rank count), the shares meet in one allreduce in
/// which every value has one contributor (a sum with zeros is exact), and every rank then runs
/// the same arithmetic on the same values from the same seed, so every rank, on any rank count,
/// ends with the same mixture.
enum MixtureFit {
    struct Result {
        var sizes: [Int]
        var inertia: Double
        /// Agreement of the fitted clusters with the training labels, when the data have them.
        var agreement: ClusterAgreement?
        var seconds: Double
    }

    static let restarts = 4
    static let lloydIterations = 60
    static let emSteps = 10

    static func run(model: VAEModel, trainSet: Dataset, comm: Communicator, seed: UInt64) throws -> Result {
        let t0 = Clock.now()
        guard let meansTensor = model.parameter(named: "prior.means") else {
            preconditionFailure("MixtureFit: the model has no mixture prior")
        }
        let L = model.config.latent, K = meansTensor.count / L, N = trainSet.count
        var mu = [Float](repeating: 0, count: N * L), lv = mu
        let evaluator = Evaluator(model: model)
        let range = EvaluationBlocks.share(samples: N, rank: comm.rank, worldSize: comm.size)
        let chunk = 4 * EvaluationBlocks.rows, D = trainSet.dimension
        let input = FloatBuffer(count: chunk * D)
        var start = range.lowerBound
        mu.withUnsafeMutableBufferPointer { m in
            lv.withUnsafeMutableBufferPointer { v in
                while start < range.upperBound {
                    let n = min(chunk, range.upperBound - start)
                    for r in 0..<n { trainSet.copySample(start + r, into: input.pointer + r * D) }
                    evaluator.encode(batch: n, input: input.pointer, mu: m.baseAddress! + start * L,
                                     logvar: v.baseAddress! + start * L, firstIndex: start)
                    start += n
                }
            }
        }
        try comm.allreduce(&mu, op: .sum)
        try comm.allreduce(&lv, op: .sum)

        let x = mu.map(Double.init)
        if let factors = model.parameter(named: Self.factorName) {
            return try fitFull(x, lv, n: N, d: L, k: K, means: meansTensor, factors: factors, trainSet: trainSet, comm: comm,
                               seed: seed, start: t0)
        }
        guard let logvarTensor = model.parameter(named: "prior.logvars") else {
            preconditionFailure("MixtureFit: the mixture prior has neither log-variances nor precision factors")
        }
        var best: (centers: [Double], assign: [Int], inertia: Double)?
        for restart in 0..<restarts {
            var random = SplitMix64(keys: seed, 0x4b4d_4541 /* "KMEA" */, UInt64(restart))
            let r = kMeans(x, n: N, d: L, k: K, random: &random)
            if best == nil || r.inertia < best!.inertia { best = r }
        }
        var centers = best!.centers
        var variances = [Double](repeating: 1, count: K * L)
        var weights = [Double](repeating: 1 / Double(K), count: K)
        // Start EM from the k-means clusters' own spreads.
        momentsOf(x, n: N, d: L, k: K, hard: best!.assign, centers: &centers, variances: &variances, weights: &weights)
        var assign = best!.assign
        if emSteps > 0 {
            assign = em(x, n: N, d: L, k: K, centers: &centers, variances: &variances, weights: &weights, steps: emSteps)
        }
        // The spread of z within a cluster: its means' variance plus the members' posterior variance.
        let (posterior, members) = memberPosteriorVariances(assign, lv, n: N, d: L, k: K)
        for c in 0..<K {
            for j in 0..<L {
                let q = posterior[c * L + j]
                meansTensor[c * L + j] = Float(centers[c * L + j])
                logvarTensor[c * L + j] = Float(Foundation.log(max(variances[c * L + j] + q, 1e-4)))
            }
        }
        return Result(sizes: members, inertia: best!.inertia, agreement: agreement(assign, trainSet, K),
                      seconds: Clock.now() - t0)
    }

    /// Each cluster's mean posterior variance per dimension (1 for an empty cluster), and its size.
    static func memberPosteriorVariances(_ assign: [Int], _ lv: [Float], n: Int, d: Int, k: Int) -> (variances: [Double], members: [Int]) {
        var sums = [Double](repeating: 0, count: k * d), members = [Int](repeating: 0, count: k)
        for i in 0..<n {
            let c = assign[i]
            members[c] += 1
            for j in 0..<d { sums[c * d + j] += Foundation.exp(Double(lv[i * d + j])) }
        }
        for c in 0..<k { for j in 0..<d { sums[c * d + j] = members[c] > 0 ? sums[c * d + j] / Double(members[c]) : 1 } }
        return (sums, members)
    }

    static func agreement(_ assign: [Int], _ trainSet: Dataset, _ K: Int) -> ClusterAgreement? {
        guard let labels = trainSet.labels, labels.count == assign.count else { return nil }
        let y = labels.map { Int($0) }
        return ClusterAgreement(clusters: assign, labels: y, clusterCount: K, labelCount: (y.max() ?? 0) + 1)
    }

    /// The full-covariance components' tensor (`FullCovarianceComponents`).
    static let factorName = "prior.precision_cholesky"
    static let fullRestarts = 8
    static let fullEMSteps = 100

    /// The fit for components with full covariances: `fullRestarts` k-means runs, each followed
    /// by `fullEMSteps` EM steps of a full-covariance mixture, and the restart of the highest
    /// log-likelihood kept (EM's own objective; on Fashion-MNIST's encoder means it picks
    /// partitions nearer the labels than the least k-means inertia does, README GMVAE section).
    /// Restart r runs on rank r mod p: its arithmetic is the same on whichever rank, the
    /// likelihoods meet in an allreduce in which each has one contributor, and the winner's
    /// mixture is broadcast from its rank, so every rank count ends with the same mixture.
    static func fitFull(_ x: [Double], _ lv: [Float], n N: Int, d L: Int, k K: Int, means: UnsafeMutableBufferPointer<Float>,
                        factors: UnsafeMutableBufferPointer<Float>, trainSet: Dataset, comm: Communicator, seed: UInt64,
                        start t0: Double) throws -> Result {
        let R = fullRestarts
        var scores = [Double](repeating: 0, count: 2 * R)   // log-likelihoods, then inertias
        var mine: [Int: FullCovarianceEM.Mixture] = [:]
        for restart in 0..<R where restart % comm.size == comm.rank {
            var random = SplitMix64(keys: seed, 0x4b4d_4541 /* "KMEA" */, UInt64(restart))
            let km = kMeans(x, n: N, d: L, k: K, random: &random)
            var mixture = FullCovarianceEM.moments(x, n: N, d: L, k: K, assign: km.assign, centers: km.centers)
            let fit = FullCovarianceEM.run(x, n: N, d: L, k: K, mixture: &mixture, steps: fullEMSteps)
            scores[restart] = fit.logLikelihood.isNaN ? -.infinity : fit.logLikelihood
            scores[R + restart] = km.inertia
            mine[restart] = mixture
        }
        try comm.allreduce(&scores, op: .sum)
        var best = 0
        for r in 1..<R where scores[r] > scores[best] { best = r }
        let owner = best % comm.size
        var packed = [Double](repeating: 0, count: K + K * L + K * L * L)
        if let m = mine[best] { packed = m.weights + m.means + m.covariances }
        try comm.broadcast(&packed, root: owner)
        var mixture = FullCovarianceEM.Mixture(weights: Array(packed[0..<K]), means: Array(packed[K..<(K + K * L)]),
                                               covariances: Array(packed[(K + K * L)...]))
        let assign = FullCovarianceEM.run(x, n: N, d: L, k: K, mixture: &mixture, steps: 0).assign
        // The spread of z within a cluster: its means' covariance plus the members' mean posterior variance.
        let (posterior, members) = memberPosteriorVariances(assign, lv, n: N, d: L, k: K)
        for c in 0..<K {
            var covariance = Array(mixture.covariances[(c * L * L)..<((c + 1) * L * L)])
            for j in 0..<L { covariance[j * L + j] += posterior[c * L + j] }
            let p = FullCovarianceEM.precisionFactor(covariance, d: L)
            for j in 0..<L {
                means[c * L + j] = Float(mixture.means[c * L + j])
                for i in 0..<L {
                    factors[(c * L + j) * L + i] = i < j ? Float(p[j * L + i]) : i == j ? Float(Foundation.log(p[j * L + j])) : 0
                }
            }
        }
        return Result(sizes: members, inertia: scores[R + best], agreement: agreement(assign, trainSet, K),
                      seconds: Clock.now() - t0)
    }

    /// k-means++ seeding and Lloyd's iterations until no sample changes cluster.
    static func kMeans(_ x: [Double], n: Int, d: Int, k: Int, random: inout SplitMix64)
    -> (centers: [Double], assign: [Int], inertia: Double) {
        var centers = [Double](repeating: 0, count: k * d)
        var nearest = [Double](repeating: .infinity, count: n)
        var first = Int(random.next(below: UInt64(n)))
        for c in 0..<k {
            for j in 0..<d { centers[c * d + j] = x[first * d + j] }
            var total = 0.0
            for i in 0..<n {
                var s = 0.0
                for j in 0..<d { let t = x[i * d + j] - centers[c * d + j]; s += t * t }
                nearest[i] = min(nearest[i], s)
                total += nearest[i]
            }
            guard c + 1 < k else { break }
            // The next seed with probability proportional to its squared distance.
            var target = Double(random.next() >> 11) / Double(1 << 53) * total
            first = n - 1
            for i in 0..<n {
                target -= nearest[i]
                if target <= 0 { first = i; break }
            }
        }
        var assign = [Int](repeating: -1, count: n)
        var inertia = 0.0
        for _ in 0..<lloydIterations {
            var changed = 0
            inertia = 0
            for i in 0..<n {
                var bestC = 0, bestS = Double.infinity
                for c in 0..<k {
                    var s = 0.0
                    for j in 0..<d { let t = x[i * d + j] - centers[c * d + j]; s += t * t }
                    if s < bestS { bestS = s; bestC = c }
                }
                if assign[i] != bestC { changed += 1; assign[i] = bestC }
                inertia += bestS
            }
            var sums = [Double](repeating: 0, count: k * d), sizes = [Int](repeating: 0, count: k)
            for i in 0..<n {
                sizes[assign[i]] += 1
                for j in 0..<d { sums[assign[i] * d + j] += x[i * d + j] }
            }
            // An emptied cluster keeps its center.
            for c in 0..<k where sizes[c] > 0 {
                for j in 0..<d { centers[c * d + j] = sums[c * d + j] / Double(sizes[c]) }
            }
            if changed == 0 { break }
        }
        return (centers, assign, inertia)
    }

    /// Means, variances and weights of hard clusters (an empty cluster keeps its center, variance 1).
    static func momentsOf(_ x: [Double], n: Int, d: Int, k: Int, hard: [Int], centers: inout [Double],
                          variances: inout [Double], weights: inout [Double]) {
        var sizes = [Double](repeating: 0, count: k)
        var s1 = [Double](repeating: 0, count: k * d), s2 = s1
        for i in 0..<n {
            let c = hard[i]
            sizes[c] += 1
            for j in 0..<d { s1[c * d + j] += x[i * d + j]; s2[c * d + j] += x[i * d + j] * x[i * d + j] }
        }
        for c in 0..<k {
            weights[c] = max(sizes[c], 1) / Double(n)
            guard sizes[c] > 0 else { continue }
            for j in 0..<d {
                let m = s1[c * d + j] / sizes[c]
                centers[c * d + j] = m
                variances[c * d + j] = max(s2[c * d + j] / sizes[c] - m * m, 1e-6)
            }
        }
    }

    /// EM of a diagonal Gaussian mixture; returns each sample's most responsible component.
    static func em(_ x: [Double], n: Int, d: Int, k: Int, centers: inout [Double], variances: inout [Double],
                   weights: inout [Double], steps: Int) -> [Int] {
        var r = [Double](repeating: 0, count: k)
        var assign = [Int](repeating: 0, count: n)
        for step in 0...steps {
            var sw = [Double](repeating: 0, count: k)
            var s1 = [Double](repeating: 0, count: k * d), s2 = s1
            var logNorm = [Double](repeating: 0, count: k)
            for c in 0..<k {
                var s = Foundation.log(max(weights[c], 1e-12))
                for j in 0..<d { s -= 0.5 * Foundation.log(variances[c * d + j]) }
                logNorm[c] = s
            }
            for i in 0..<n {
                var top = -Double.infinity, arg = 0
                for c in 0..<k {
                    var s = logNorm[c]
                    for j in 0..<d { let t = x[i * d + j] - centers[c * d + j]; s -= 0.5 * t * t / variances[c * d + j] }
                    r[c] = s
                    if s > top { top = s; arg = c }
                }
                assign[i] = arg
                guard step < steps else { continue }
                var total = 0.0
                for c in 0..<k { r[c] = Foundation.exp(r[c] - top); total += r[c] }
                for c in 0..<k {
                    let w = r[c] / total
                    sw[c] += w
                    for j in 0..<d { s1[c * d + j] += w * x[i * d + j]; s2[c * d + j] += w * x[i * d + j] * x[i * d + j] }
                }
            }
            guard step < steps else { break }
            for c in 0..<k where sw[c] > 1e-9 {
                weights[c] = sw[c] / Double(n)
                for j in 0..<d {
                    let m = s1[c * d + j] / sw[c]
                    centers[c * d + j] = m
                    variances[c * d + j] = max(s2[c * d + j] / sw[c] - m * m, 1e-6)
                }
            }
        }
        return assign
    }
}
