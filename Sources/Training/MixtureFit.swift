import Datasets
import Foundation
import MPI
import VAE

/// Fits the GMVAE's mixture to the encoder: the posterior means of the whole training set, then
/// k-means (k-means++ seeding, Lloyd's iterations, the best of a few restarts by inertia), then a
/// few EM steps of a diagonal Gaussian mixture started from it; the components become
/// `prior.means` and `prior.logvars` (each cluster's variance of the means plus its members' mean
/// posterior variance: the spread of z, not of mu).
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
        guard let meansTensor = model.parameter(named: "prior.means"), let logvarTensor = model.parameter(named: "prior.logvars") else {
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
        var posterior = [Double](repeating: 0, count: K * L), members = [Int](repeating: 0, count: K)
        for i in 0..<N {
            let c = assign[i]
            members[c] += 1
            for j in 0..<L { posterior[c * L + j] += Foundation.exp(Double(lv[i * L + j])) }
        }
        for c in 0..<K {
            for j in 0..<L {
                let q = members[c] > 0 ? posterior[c * L + j] / Double(members[c]) : 1
                meansTensor[c * L + j] = Float(centers[c * L + j])
                logvarTensor[c * L + j] = Float(Foundation.log(max(variances[c * L + j] + q, 1e-4)))
            }
        }
        var agreement: ClusterAgreement?
        if let labels = trainSet.labels, labels.count == N {
            let y = labels.map { Int($0) }
            agreement = ClusterAgreement(clusters: assign, labels: y, clusterCount: K, labelCount: (y.max() ?? 0) + 1)
        }
        return Result(sizes: members, inertia: best!.inertia, agreement: agreement, seconds: Clock.now() - t0)
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
