/// What generated a dataset, where that is known: each sample's factor values and, per factor,
/// the pixels it alone controls. The explanation export measures attributions against it.
public struct FactorTruth: Equatable {
    /// Factors per sample.
    public let factorCount: Int
    /// count x factorCount, row-major, aligned with the dataset's samples.
    public let values: [Float]
    /// Per factor, the pixels (row-major over the image) that belong to it.
    public let regions: [[Bool]]
    public let names: [String]

    public init(factorCount: Int, values: [Float], regions: [[Bool]], names: [String]) {
        self.factorCount = factorCount
        self.values = values
        self.regions = regions
        self.names = names
    }

    public var count: Int { factorCount == 0 ? 0 : values.count / factorCount }
}

extension DataSource {
    /// The factors behind the `split` of a `synthetic:...` spec, nil for any other data.
    public static func factorTruth(_ spec: String, split: Split) throws -> FactorTruth? {
        guard spec == "synthetic" || spec.hasPrefix("synthetic:") else { return nil }
        let o = try syntheticOptions(spec)
        let (count, first) = split == .train ? (o.count, 0) : (max(1, o.count / 6), o.count)
        return FactorTruth(factorCount: o.factors,
                           values: SyntheticData.factors(count: count, factors: o.factors, seed: o.seed, firstIndex: first),
                           regions: (0..<o.factors).map { SyntheticData.squareRegion($0, hardEdges: o.hardEdges) },
                           names: Array(SyntheticData.factorNames.prefix(o.factors)))
    }
}
