import Foundation

/// What the posterior means say about the latent space as a whole: computed once on rank 0
/// from the gathered arrays, in Double so that 10^5 samples sum without drift.
public struct LatentStatistics {
    public let count: Int
    public let latent: Int
    /// Variance over the data of each dimension's posterior mean (the active-unit statistic).
    public let posteriorMeanVariance: [Double]
    public let activeThreshold: Double
    public let activeDimensions: [Int]
    public let meanKL: [Double]
    /// Dimensions by decreasing mean KL: the most informative first.
    public let dimensionsByKL: [Int]
    /// Moments of the aggregate posterior (the mixture of every sample's q(z|x)).
    public let aggregateMean: [Double]
    public let aggregateStd: [Double]
    public let meanNegELBO: Double
    public let meanRecon: Double
    public let meanNegLogPxIWAE: Double?
    public let classes: [ClassStatistics]
    /// Sample indices by increasing -ELBO (non-finite values last).
    public let indicesByNegELBO: [Int]

    public struct ClassStatistics {
        public let label: Int
        public let count: Int
        public let meanNegELBO: Double
        public let meanMu: [Double]
    }

    public var activeUnits: Int { activeDimensions.count }

    public init(_ a: PosteriorArrays, labels: [Int32]?, activeThreshold: Double) {
        let n = a.count, d = a.latent
        count = n; latent = d
        var sum = [Double](repeating: 0, count: d), sumSq = [Double](repeating: 0, count: d)
        var sumVar = [Double](repeating: 0, count: d), sumKL = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d {
                let m = Double(a.mu[i * d + j])
                sum[j] += m; sumSq[j] += m * m
                sumVar[j] += Double(_exp(a.logvar[i * d + j]))
                sumKL[j] += Double(a.klPerDim[i * d + j])
            }
        }
        let nn = Double(max(n, 1))
        let mean = sum.map { $0 / nn }
        // Two-pass variance: sum of squares minus squared mean loses digits when |mean| >> std.
        var centred = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { let c = Double(a.mu[i * d + j]) - mean[j]; centred[j] += c * c }
        }
        let variance = centred.map { $0 / nn }
        posteriorMeanVariance = variance
        self.activeThreshold = activeThreshold
        activeDimensions = (0..<d).filter { variance[$0] > activeThreshold }
        let kl = sumKL.map { $0 / nn }
        meanKL = kl
        let key = kl.map { $0.isNaN ? -Double.infinity : $0 }
        dimensionsByKL = (0..<d).sorted { (key[$0], -$0) > (key[$1], -$1) }
        aggregateMean = mean
        aggregateStd = (0..<d).map { (variance[$0] + sumVar[$0] / nn).squareRoot() }
        meanNegELBO = a.negELBO.reduce(0.0) { $0 + Double($1) } / nn
        meanRecon = a.recon.reduce(0.0) { $0 + Double($1) } / nn
        meanNegLogPxIWAE = a.negLogPxIWAE.isEmpty ? nil : a.negLogPxIWAE.reduce(0.0) { $0 + Double($1) } / nn
        indicesByNegELBO = Self.order(a.negELBO)

        var perClass: [Int: (count: Int, elbo: Double, mu: [Double])] = [:]
        if let labels, labels.count == n {
            for i in 0..<n {
                var entry = perClass[Int(labels[i])] ?? (0, 0, [Double](repeating: 0, count: d))
                entry.count += 1
                entry.elbo += Double(a.negELBO[i])
                for j in 0..<d { entry.mu[j] += Double(a.mu[i * d + j]) }
                perClass[Int(labels[i])] = entry
            }
        }
        classes = perClass.sorted { $0.key < $1.key }.map { label, e in
            let c = Double(e.count)
            return ClassStatistics(label: label, count: e.count, meanNegELBO: e.elbo / c, meanMu: e.mu.map { $0 / c })
        }
    }

    /// Indices sorted by value ascending, NaN and +inf at the end, ties by index (deterministic).
    static func order(_ values: [Float]) -> [Int] {
        values.indices.sorted { i, j in
            let a = values[i].isNaN ? Float.infinity : values[i]
            let b = values[j].isNaN ? Float.infinity : values[j]
            return a != b ? a < b : i < j
        }
    }
}
