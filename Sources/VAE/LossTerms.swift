/// The loss terms of one forward pass, summed over its rows (not means): the likelihood's
/// reconstruction term first, then the latent block's terms, then any the weights add. Their names
/// come from the model (`VAEModel.lossTermNames`), and their sum is the −ELBO; the trainer adds
/// them across ranks.
///
/// A fixed-capacity value, not an array: the step returns one and the trainer sums them every
/// step, and neither may allocate.
public struct LossTerms: Equatable, CustomStringConvertible {
    /// More than any model needs (the GMVAE's reconstruction, two KLs and a balance term).
    public static let capacity = 6
    /// Index of the likelihood's term.
    public static let reconstruction = 0

    public let count: Int
    private var v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0, v4 = 0.0, v5 = 0.0

    public init(count: Int) {
        precondition(count >= 1 && count <= Self.capacity, "LossTerms: \(count) terms, capacity \(Self.capacity)")
        self.count = count
    }

    /// Terms from values in order (tests and readers of stored sums).
    public init<S: Sequence>(_ values: S) where S.Element == Double {
        let a = Array(values)
        self.init(count: a.count)
        for (i, x) in a.enumerated() { self[i] = x }
    }

    public subscript(i: Int) -> Double {
        get {
            precondition(i >= 0 && i < count, "LossTerms: term \(i) outside 0..<\(count)")
            switch i {
            case 0: return v0
            case 1: return v1
            case 2: return v2
            case 3: return v3
            case 4: return v4
            default: return v5
            }
        }
        set {
            precondition(i >= 0 && i < count, "LossTerms: term \(i) outside 0..<\(count)")
            switch i {
            case 0: v0 = newValue
            case 1: v1 = newValue
            case 2: v2 = newValue
            case 3: v3 = newValue
            case 4: v4 = newValue
            default: v5 = newValue
            }
        }
    }

    /// The −ELBO's sum, every term unweighted.
    public var total: Double {
        var s = 0.0
        for i in 0..<count { s += self[i] }
        return s
    }

    /// Σ −log p(x | z).
    public var recon: Double { self[Self.reconstruction] }
    /// The terms besides the reconstruction (the VAE's KL; for larger models the sum of their
    /// regularizers), unweighted.
    public var regularizer: Double { total - recon }
    public var allFinite: Bool {
        for i in 0..<count where !self[i].isFinite { return false }
        return true
    }

    public static func += (a: inout LossTerms, b: LossTerms) {
        precondition(a.count == b.count, "LossTerms: adding \(b.count) terms to \(a.count)")
        for i in 0..<a.count { a[i] += b[i] }
    }

    /// Every term divided by `n` (per-sample means).
    public func divided(by n: Double) -> LossTerms {
        var r = self
        for i in 0..<count { r[i] = self[i] / n }
        return r
    }

    public var description: String { "LossTerms(" + (0..<count).map { "\(self[$0])" }.joined(separator: ", ") + ")" }
}
