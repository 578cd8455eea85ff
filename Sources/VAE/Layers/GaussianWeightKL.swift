import Foundation
import Linalg

/// KL(q(W) ‖ p(W)) of a factorized Gaussian posterior q = N(mu, softplus(rho)²) against the
/// Gaussian prior N(0, priorSigma²), in closed form, over every (mu, rho) tensor pair of a model.
///
/// It depends on the parameters alone, so under data parallelism every rank computes the same
/// value and gradient from the same parameters: the trainer adds the gradient once, after the
/// allreduce, instead of letting each rank's share be summed (which would count it once per rank).
/// The closed form is exact (no sampled-weight estimate), which is why the prior is one Gaussian
/// and not a scale mixture: the mixture's KL has no closed form and its one-sample estimate adds
/// noise to every step for a prior whose benefit is small at these sizes.
public struct GaussianWeightKL: Sendable {
    /// Offsets of one posterior tensor's means and rhos in the parameter arena.
    public struct Pair: Equatable, Sendable {
        public let name: String
        public let mu: Int
        public let rho: Int
        public let count: Int
    }

    public let pairs: [Pair]
    public let priorSigma: Float
    public var parameterCount: Int { pairs.reduce(0) { $0 + $1.count } }

    /// Pairs `X.mu` with `X.rho` by name; nil when the layout has no Bayesian tensors.
    public init?(layout: [TensorSpec], priorSigma: Float) {
        var byName: [String: TensorSpec] = [:]
        for s in layout { byName[s.name] = s }
        var pairs: [Pair] = []
        for s in layout where s.name.hasSuffix(".mu") {
            let base = String(s.name.dropLast(3))
            guard let r = byName[base + ".rho"], r.count == s.count else { continue }
            pairs.append(Pair(name: base, mu: s.offset, rho: r.offset, count: s.count))
        }
        guard !pairs.isEmpty else { return nil }
        self.pairs = pairs
        self.priorSigma = priorSigma
    }

    /// Σ over every weight of log(p/s) + (s² + mu²)/(2p²) − 1/2, in Double per block of floats.
    public func value(parameters p: UnsafePointer<Float>) -> Double {
        var total = 0.0
        for pair in pairs { total += Self.value(mu: p + pair.mu, rho: p + pair.rho, count: pair.count, priorSigma: priorSigma) }
        return total
    }

    /// Adds `scale` · d KL / d(mu, rho) to `g` (the arena's gradients).
    public func addGradient(parameters p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>, scale: Float) {
        for pair in pairs {
            Self.addGradient(mu: p + pair.mu, rho: p + pair.rho, gradMu: g + pair.mu, gradRho: g + pair.rho,
                             count: pair.count, priorSigma: priorSigma, scale: scale)
        }
    }

    /// The value and `scale` times its gradient added to `g`, in one pass over the weights (what
    /// a training step needs; the step runs it on every rank after the allreduce). Each chunk's
    /// terms go to a small buffer and are summed in SIMD lanes there, so the loop over the weights
    /// has no running Float sum and vectorizes.
    public func accumulate(parameters p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>, scale: Float) -> Double {
        let invP2 = 1 / (priorSigma * priorSigma), inv2p2 = 0.5 * invP2
        let c = FastMath.log(priorSigma) - 0.5
        var total = 0.0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.chunk) { buffer in
            let terms = buffer.baseAddress!
            for pair in pairs {
                let mu = p + pair.mu, rho = p + pair.rho, gMu = g + pair.mu, gRho = g + pair.rho
                var start = 0
                while start < pair.count {
                    let n = Swift.min(pair.count - start, Self.chunk)
                    let m = mu + start, r = rho + start, gm = gMu + start, gr = gRho + start
                    for i in 0..<n {
                        let sigma = WeightSigma.softplus(r[i])
                        let inv = 1 / sigma
                        terms[i] = c - FastMath.log(sigma) + (sigma * sigma + m[i] * m[i]) * inv2p2
                        gm[i] += scale * m[i] * invP2
                        gr[i] += scale * (sigma * invP2 - inv) * WeightSigma.sigmoid(r[i])
                    }
                    total += Double(Reductions.sum(terms, count: n))
                    start += n
                }
            }
        }
        return total
    }

    static let chunk = 1024

    static func value(mu: UnsafePointer<Float>, rho: UnsafePointer<Float>, count: Int, priorSigma: Float) -> Double {
        let inv2p2 = 1 / (2 * priorSigma * priorSigma)
        let c = FastMath.log(priorSigma) - 0.5
        var total = 0.0
        // Float sums of 1024 terms of order one in SIMD lanes, added up in Double: ~1e-6 relative.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk) { buffer in
            let terms = buffer.baseAddress!
            var start = 0
            while start < count {
                let n = Swift.min(count - start, chunk)
                let m = mu + start, r = rho + start
                for i in 0..<n {
                    let sigma = WeightSigma.softplus(r[i])
                    terms[i] = c - FastMath.log(sigma) + (sigma * sigma + m[i] * m[i]) * inv2p2
                }
                total += Double(Reductions.sum(terms, count: n))
                start += n
            }
        }
        return total
    }

    static func addGradient(mu: UnsafePointer<Float>, rho: UnsafePointer<Float>, gradMu: UnsafeMutablePointer<Float>,
                            gradRho: UnsafeMutablePointer<Float>, count n: Int, priorSigma: Float, scale: Float) {
        let invP2 = 1 / (priorSigma * priorSigma)
        for i in 0..<n {
            let r = rho[i]
            let sigma = WeightSigma.softplus(r)
            gradMu[i] += scale * mu[i] * invP2
            // d/dsigma (−log sigma + sigma²/(2p²)) = −1/sigma + sigma/p², times dsigma/drho.
            gradRho[i] += scale * (sigma * invP2 - 1 / sigma) * WeightSigma.sigmoid(r)
        }
    }
}
