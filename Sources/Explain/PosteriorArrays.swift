import VAE

/// Per-sample results of the posterior pass, row-major, for a contiguous range of samples
/// (one rank's shard, or after gathering the whole evaluation set).
public struct PosteriorArrays {
    public let latent: Int
    public private(set) var count = 0
    public private(set) var mu: [Float] = []           // count x latent
    public private(set) var logvar: [Float] = []       // count x latent
    public private(set) var klPerDim: [Float] = []     // count x latent
    public private(set) var negELBO: [Float] = []      // count
    public private(set) var recon: [Float] = []        // count
    public private(set) var negLogPxIWAE: [Float] = [] // count, empty when K = 0

    public init(latent: Int, reservingCapacity n: Int = 0) {
        self.latent = latent
        mu.reserveCapacity(n * latent); logvar.reserveCapacity(n * latent); klPerDim.reserveCapacity(n * latent)
        negELBO.reserveCapacity(n); recon.reserveCapacity(n)
    }

    /// Appends rows: `mu`, `logvar` and `klPerDim` hold `rows * latent` values, as the model's
    /// latent block gives them (`Evaluator.encode`).
    mutating func append(rows: Int, mu newMu: UnsafeBufferPointer<Float>, logvar newLogvar: UnsafeBufferPointer<Float>,
                         klPerDim newKL: UnsafeBufferPointer<Float>, negELBO e: [Float], recon r: [Float],
                         negLogPxIWAE w: [Float]) {
        let n = rows * latent
        mu.append(contentsOf: newMu.prefix(n))
        logvar.append(contentsOf: newLogvar.prefix(n))
        klPerDim.append(contentsOf: newKL.prefix(n))
        negELBO.append(contentsOf: e.prefix(rows))
        recon.append(contentsOf: r.prefix(rows))
        negLogPxIWAE.append(contentsOf: w.prefix(rows))
        count += rows
    }

    /// KL( N(mu, exp(logvar)) || N(0, 1) ) of one dimension, in nats.
    @inline(__always)
    public static func kl(mu: Float, logvar: Float) -> Float {
        GaussianKL.dimension(mu: mu, logvar: logvar, variance: _exp(logvar))
    }

    /// Reassembles shards that were gathered in rank order.
    static func concatenating(latent: Int, mu: [[Float]], logvar: [[Float]], kl: [[Float]], negELBO: [[Float]],
                              recon: [[Float]], iwae: [[Float]]) throws -> PosteriorArrays {
        var a = PosteriorArrays(latent: latent)
        a.mu = mu.flatMap { $0 }; a.logvar = logvar.flatMap { $0 }; a.klPerDim = kl.flatMap { $0 }
        a.negELBO = negELBO.flatMap { $0 }; a.recon = recon.flatMap { $0 }; a.negLogPxIWAE = iwae.flatMap { $0 }
        a.count = a.negELBO.count
        guard a.mu.count == a.count * latent, a.logvar.count == a.mu.count, a.klPerDim.count == a.mu.count,
              a.recon.count == a.count, a.negLogPxIWAE.isEmpty || a.negLogPxIWAE.count == a.count else {
            throw ExplainError("explain gather: expected \(a.count) samples x \(latent) dims from the ranks, found mismatched array sizes (mu \(a.mu.count), recon \(a.recon.count))")
        }
        return a
    }

    /// The posterior means of sample `i`.
    public func muRow(_ i: Int) -> ArraySlice<Float> { mu[(i * latent)..<((i + 1) * latent)] }
    public func logvarRow(_ i: Int) -> ArraySlice<Float> { logvar[(i * latent)..<((i + 1) * latent)] }
    public func klRow(_ i: Int) -> ArraySlice<Float> { klPerDim[(i * latent)..<((i + 1) * latent)] }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _exp(_ x: Float) -> Float { Glibc.expf(x) }
#else
import Darwin
@inline(__always) func _exp(_ x: Float) -> Float { Darwin.expf(x) }
#endif
