import Foundation

/// What the export found and wrote; also serialized as summary.json. Every rank returns the same
/// value (rank 0 broadcasts it), so the caller can log it anywhere.
public struct ExplainSummary: Codable, Equatable {
    public struct Dimension: Codable, Equatable {
        public var dim: Int
        public var posteriorMeanVariance: Double
        public var active: Bool
        public var meanKL: Double
        public var aggregateMean: Double
        public var aggregateStd: Double
    }
    public struct ClassSummary: Codable, Equatable {
        public var label: Int
        public var name: String
        public var count: Int
        public var meanNegELBO: Double
        public var meanMu: [Double]
    }
    public struct SampleRef: Codable, Equatable {
        public var index: Int
        public var negELBO: Double
        public var negLogPxIWAE: Double?
        public var label: Int?
    }
    public struct Neighbour: Codable, Equatable {
        public var index: Int
        public var distance: Double
        public var label: Int?
    }
    public struct SampleExplanation: Codable, Equatable {
        public var index: Int
        public var label: Int?
        public var negELBO: Double
        public var negLogPxIWAE: Double?
        public var mu: [Double]
        public var std: [Double]
        public var klPerDim: [Double]
        /// Its own dimensions by decreasing KL.
        public var topDimensions: [Int]
        /// From the training set (or the evaluation set when none was given), by posterior mean.
        public var neighbours: [Neighbour]
        public var neighbourSource: String
        public var files: [String]
        /// For a mixture model: its cluster (argmax q(y|x)), q(y = cluster | x) and every q(y|x).
        public var cluster: Int? = nil
        public var responsibility: Double? = nil
        public var responsibilities: [Double]? = nil
        /// A Bayesian model's uncertainty about this sample.
        public var epistemic: EpistemicSummary.Sample? = nil
    }

    public var format = "mpivae-explain/1"
    public var count: Int
    public var latent: Int
    public var ranks: Int
    public var provenance: [String: String]
    public var iwaeK: Int
    public var activeThreshold: Double
    public var activeUnits: Int
    public var activeDimensions: [Int]
    public var dimensions: [Dimension]
    /// Dimensions by decreasing mean KL.
    public var dimensionsByKL: [Int]
    public var meanNegELBO: Double
    public var meanRecon: Double
    public var meanKL: Double
    public var meanNegLogPxIWAE: Double?
    public var classes: [ClassSummary]
    public var mostTypical: [SampleRef]
    public var leastTypical: [SampleRef]
    /// By IWAE -log p(x) when K > 0 (the tighter bound), else by -ELBO; highest first.
    public var mostAnomalous: [SampleRef]
    public var anomalyScore: String
    public var samples: [SampleExplanation]
    /// Paths relative to the output directory.
    public var files: [String]
    public var seconds: [String: Double]
    /// Local surrogate explanations, when the export ran them.
    public var lime: LIMESummary? = nil
    /// Per attribution method (saliency, occlusion, lime), how much of each active unit's
    /// attribution falls where its factor is known to act; only for data with known factors.
    public var attributionGroundTruth: [String: AttributionGroundTruth]? = nil
    /// For a model whose latent block gives cluster responsibilities: the clusters it found.
    public var clusters: ClusterSummary? = nil
    /// For a Bayesian model explained with weight samples: its own uncertainty.
    public var epistemic: EpistemicSummary? = nil
    /// Correlations in the posterior, for posteriors with a full covariance.
    public var posteriorCorrelation: PosteriorCorrelationSummary? = nil

    /// summary.json: snake_case keys, non-finite numbers as the strings numpy prints.
    func json() throws -> String {
        try Self.encode(self, snakeCase: true)
    }

    /// Rank 0 -> other ranks. Property names as they are: snake_case does not round-trip names
    /// like `meanKL`.
    func transport() throws -> String {
        try Self.encode(self, snakeCase: false)
    }

    static func encode(_ summary: ExplainSummary, snakeCase: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try encoder.encode(summary), as: UTF8.self)
        } catch {
            throw ExplainError("summary.json: could not encode the summary (\(error))")
        }
    }

    static func decode(transport json: String) throws -> ExplainSummary {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(ExplainSummary.self, from: Data(json.utf8))
        } catch {
            throw ExplainError("explain: could not read the summary broadcast by rank 0 (\(error))")
        }
    }
}
