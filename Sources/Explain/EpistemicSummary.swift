/// What summary.json says about a Bayesian model's own uncertainty (`"epistemic"`), and what the
/// report's uncertainty section is drawn from: the one measure that ranks the samples, every
/// measure's separation of a held-out class, the most and least uncertain samples, and each weight
/// tensor's signal-to-noise histogram.
public struct EpistemicSummary: Codable, Equatable {
    public struct Fact: Codable, Equatable {
        public var name: String
        public var value: String
    }
    public struct ClassMean: Codable, Equatable {
        public var label: Int
        public var count: Int
        public var mean: Double
    }
    /// How well one measure tells the held-out class from the classes the model saw.
    public struct Separation: Codable, Equatable {
        public var measure: String
        public var heldOut: Int
        public var heldOutMean: Double
        public var seenMean: Double
        public var ratio: Double
        public var auroc: Double
        public var classes: [ClassMean]
    }
    public struct Ranked: Codable, Equatable {
        public var index: Int
        public var label: Int?
        public var uncertainty: Double
        public var negELBO: Double
    }
    /// Counts of log10(|mu| / sigma) over one weight tensor, in bins of `binWidth` from `firstBin`
    /// (the first and last bins also hold everything beyond them).
    public struct Histogram: Codable, Equatable {
        public var tensor: String
        public var firstBin: Double
        public var binWidth: Double
        public var counts: [Int]
        public var median: Double
    }
    /// One explained sample's uncertainty: the ranking measure, its rank (1: most uncertain) and
    /// every measure's value.
    public struct Sample: Codable, Equatable {
        public var uncertainty: Double
        public var rank: Int
        public var measures: [Fact]
        public var map: String?
    }

    public var weightSamples: Int
    /// The measure that ranks the samples, and what it is.
    public var measure: String
    public var measureDefinition: String
    public var count: Int
    /// The columns of epistemic.npy `[count, columns]`, the ranking measure first.
    public var columns: [String]
    public var meanUncertainty: Double
    /// The share of samples in each tail (0.05) and the mean −ELBO (at the weight means) of the
    /// most and the least uncertain tail.
    public var tailShare: Double
    public var tailCount: Int
    public var mostUncertainNegELBO: Double
    public var leastUncertainNegELBO: Double
    public var facts: [Fact]
    /// The ranking measure's mean per label (empty without labels).
    public var classes: [ClassMean]
    public var separations: [Separation]
    public var mostUncertain: [Ranked]
    public var leastUncertain: [Ranked]
    public var signalToNoise: [Histogram]
    /// The samples with a per-pixel map, in the order of uncertainty_maps.png.
    public var mapped: [Int]
    public var files: [String]
}
