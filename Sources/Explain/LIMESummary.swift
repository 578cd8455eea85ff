/// The LIME part of summary.json.
public struct LIMESummary: Codable, Equatable {
    public struct TargetFit: Codable, Equatable {
        public var target: String
        public var latentDimension: Int?
        /// Weighted R^2 of the surrogate over the perturbations: its local fidelity.
        public var r2: Double
        public var intercept: Double
        /// The target on the unperturbed sample.
        public var original: Double
    }
    public struct SampleFit: Codable, Equatable {
        public var index: Int
        public var label: Int?
        public var segments: Int
        public var targets: [TargetFit]
        public var files: [String]
    }
    /// Spearman correlations between the methods' segment rankings by |attribution| (each
    /// method's pixel map summed over a segment), median over explained samples x active units.
    public struct RankCorrelation: Codable, Equatable {
        public var saliencyOcclusion: Double
        public var saliencyLime: Double
        public var occlusionLime: Double
        public var pairs: Int
    }

    public var perturbations: Int
    public var segmentation: String
    public var kernel: String
    public var kernelWidth: Double
    public var baseline: String
    public var ridge: Double
    public var batchRows: Int
    public var samples: [SampleFit]
    /// Median weighted R^2 over every explained sample and active unit's posterior mean.
    public var medianR2ActiveMeans: Double
    public var medianR2KL: Double?
    public var medianR2Recon: Double?
    public var rankCorrelation: RankCorrelation?
    public var seconds: [String: Double]
}
