import Datasets

/// How well an attribution method finds what is known to matter: on data generated from factors
/// that each control known pixels (synthetic squares), a latent unit that encodes factor j should
/// respond to factor j's pixels alone. The measure is the share of the unit's total absolute
/// attribution that falls inside that factor's region, pooled over the explained samples
/// (sum inside / sum everywhere), so a sample on which the unit barely responds counts little.
public struct AttributionGroundTruth: Codable, Equatable {
    public struct Unit: Codable, Equatable {
        public var dim: Int
        /// The factor the unit encodes most: largest |correlation| of its posterior mean with the
        /// factor values over the evaluation set.
        public var factor: Int
        public var factorName: String
        public var correlation: Double
        public var share: Double
    }

    public var method: String
    public var units: [Unit]
    public var minShare: Double
    public var meanShare: Double

    /// The factor each unit in `dims` encodes most, from the evaluation set's posterior means.
    static func factorOfUnits(mu: [Float], latent: Int, dims: [Int], truth: FactorTruth) -> [(dim: Int, factor: Int, correlation: Double)] {
        let n = min(truth.count, mu.count / max(latent, 1)), k = truth.factorCount
        return dims.map { d in
            var best = (factor: 0, correlation: 0.0)
            for j in 0..<k {
                let c = correlation(n, { Double(mu[$0 * latent + d]) }, { Double(truth.values[$0 * k + j]) })
                if abs(c) > abs(best.correlation) || (c.isFinite && !best.correlation.isFinite) { best = (j, c) }
            }
            return (d, best.factor, best.correlation)
        }
    }

    static func correlation(_ n: Int, _ a: (Int) -> Double, _ b: (Int) -> Double) -> Double {
        guard n > 1 else { return .nan }
        var ma = 0.0, mb = 0.0
        for i in 0..<n { ma += a(i); mb += b(i) }
        ma /= Double(n); mb /= Double(n)
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in 0..<n {
            let x = a(i) - ma, y = b(i) - mb
            sab += x * y; saa += x * x; sbb += y * y
        }
        return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : 0
    }

    /// Pooled share of |attribution| inside `region` over per-sample pixel maps.
    static func share(_ maps: [[Float]], region: [Bool]) -> Double {
        var inside = 0.0, total = 0.0
        for map in maps {
            for (p, v) in map.enumerated() where v.isFinite {
                let a = Double(abs(v))
                total += a
                if p < region.count && region[p] { inside += a }
            }
        }
        return total > 0 ? inside / total : .nan
    }

    /// The measure for one method; `maps(dim)` gives that unit's pixel attribution on each
    /// explained sample.
    static func measure(method: String, units: [(dim: Int, factor: Int, correlation: Double)], truth: FactorTruth,
                        maps: (Int) -> [[Float]]) -> AttributionGroundTruth {
        let measured = units.map { u in
            Unit(dim: u.dim, factor: u.factor, factorName: u.factor < truth.names.count ? truth.names[u.factor] : "factor \(u.factor)",
                 correlation: u.correlation, share: share(maps(u.dim), region: truth.regions[u.factor]))
        }
        let shares = measured.map(\.share)
        return AttributionGroundTruth(method: method, units: measured, minShare: shares.min() ?? .nan,
                                      meanShare: shares.isEmpty ? .nan : shares.reduce(0, +) / Double(shares.count))
    }
}
