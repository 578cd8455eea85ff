/// The clusters of a mixture model over the evaluation set, as summary.json's "clusters" object.
public struct ClusterSummary: Codable, Equatable {
    public struct Cluster: Codable, Equatable {
        public var cluster: Int
        /// Samples whose most responsible component it is.
        public var size: Int
        /// Σ_x q(y = cluster | x).
        public var softSize: Double
        /// Mean of q(y = cluster | x) over its members; nil for an empty cluster.
        public var meanResponsibility: Double?
        /// The learned p(y = cluster), when the prior has weights.
        public var priorWeight: Double?
        public var majorityLabel: Int?
        public var majorityShare: Double?
        /// Member indices by decreasing responsibility (at most the shown number).
        public var mostTypical: [Int]
        /// Member indices by increasing responsibility.
        public var leastTypical: [Int]
    }

    /// K, the number of components.
    public var count: Int
    /// The extra posterior the clusters come from, and how a sample's cluster is chosen.
    public var source = "responsibilities"
    public var assignment = "argmax_k q(y=k|x), lowest k among ties"
    public var sizes: [Int]
    /// Samples whose responsibilities were not finite, in no cluster.
    public var unassigned: Int
    public var emptyClusters: [Int]
    public var perCluster: [Cluster]
    /// Columns of `labelTable`: the labels present, and their class names where known.
    public var labelValues: [Int]?
    public var labelNames: [String]?
    /// `labelTable[k][j]`: members of cluster k with label `labelValues[j]`.
    public var labelTable: [[Int]]?
    /// Unsupervised clustering accuracy and NMI, when the data have labels and the metrics are
    /// available (`accuracyRule`, `nmiNormalization` say how they are defined).
    public var accuracy: Double?
    public var accuracyRule: String?
    public var nmi: Double?
    public var nmiNormalization: String?
    /// "prior.means" (the decoded prior mean of each component) or "member posterior means" when
    /// the model has no such tensor.
    public var prototypeSource: String
    /// Where the samples from p(z|y) come from ("prior.means, prior.logvars"), nil when none were drawn.
    public var sampleSource: String?
    public var samplesPerCluster: Int
    /// What the saliency pictures show, or why there are none.
    public var saliency: String
    public var files: [String]
}
