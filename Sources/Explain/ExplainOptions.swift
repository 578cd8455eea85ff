import Datasets

/// What to explain and how much of it. Defaults suit 28x28 images and a few dozen latent dims.
public struct ExplainOptions {
    /// Directory receiving every output file; created if missing.
    public var outDir: String
    /// Importance samples for the IWAE estimate of -log p(x); 0 skips it (and its .npy).
    public var iwaeK: Int = 100
    /// Indices into the evaluation set that get a per-sample explanation.
    public var samples: [Int] = []
    /// Rows encoded per Evaluator call: bounds memory whatever the data size.
    public var batchSize: Int = 100
    /// Seeds the noise of -ELBO, IWAE and prior samples, so reruns give the same files.
    public var seed: UInt64 = 0
    /// A dimension is active when the variance over the data of its posterior mean exceeds this.
    public var activeThreshold: Double = 0.01
    /// How many of the most informative dimensions get traversals and saliency maps.
    public var topDimensions: Int = 8
    /// Columns of a latent traversal, spread evenly over +-2 standard deviations.
    public var traversalSteps: Int = 9
    /// Side of the square grey patch moved over the image for occlusion attribution.
    public var occlusionPatch: Int = 4
    /// Grey level (0...1 of the pictures' scale, which covers [0, 1] and the data) used to occlude.
    public var occlusionValue: Float = 0.5
    /// Nearest neighbours shown per explained sample.
    public var neighbours: Int = 8
    /// Samples in the originals/reconstructions, typical/anomalous and saliency pictures.
    public var gallerySize: Int = 16
    /// Samples drawn from the prior.
    public var priorSamples: Int = 64
    /// Points drawn in the SVG scatter (the PNG scatter draws all of them).
    public var scatterMaxPoints: Int = 3000
    /// Pixel enlargement of 28x28 tiles in pictures.
    public var upscale: Int = 3
    /// Names for class labels 0..<n; numbers otherwise. Left empty for data named
    /// "fashion-mnist...", Fashion-MNIST's names are used.
    public var classNames: [String] = []
    /// Skip report.html (arrays, tables and pictures are still written).
    public var writeReport: Bool = true
    /// The training run's metrics.jsonl: when set, the report opens with the run's curves.
    public var runMetricsPath: String?
    /// Local surrogate explanations (LIME); nil skips them.
    public var lime: LIMESettings?
    /// The evaluation data's generating factors, when known (synthetic data): the attribution
    /// methods are then measured against them.
    public var factorTruth: FactorTruth?
    /// A Bayesian model's uncertainty across weight samples, measured beforehand over the same
    /// evaluation set (rank 0 needs it): written into `uncertainty/`, a report section of its own
    /// and each explained sample's entry. Nil for a model without weight uncertainty.
    public var epistemic: EpistemicExport?

    public init(outDir: String) { self.outDir = outDir }

    /// Fashion-MNIST's class names in label order.
    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Checks every setting against the data before any work (on every rank alike, so all ranks
    /// fail together and none waits in a collective).
    func validate(count: Int, latent: Int) throws {
        func positive(_ v: Int, _ name: String) throws {
            guard v > 0 else { throw ExplainError("explain option \(name): expected a positive number, found \(v)") }
        }
        guard !outDir.isEmpty else { throw ExplainError("explain --out: expected a directory path, found an empty string") }
        guard iwaeK >= 0 else { throw ExplainError("explain --iwae: expected 0 or more importance samples, found \(iwaeK)") }
        try positive(batchSize, "batchSize")
        try positive(topDimensions, "topDimensions")
        try positive(traversalSteps, "traversalSteps")
        try positive(occlusionPatch, "occlusionPatch")
        try positive(gallerySize, "gallerySize")
        try positive(upscale, "upscale")
        // Pictures grow with the square of these; past them a picture is megabytes of nothing new.
        guard upscale <= 16, traversalSteps <= 64, gallerySize <= 1000, priorSamples <= 10_000 else {
            throw ExplainError("explain options: expected upscale <= 16, traversalSteps <= 64, gallerySize <= 1000, priorSamples <= 10000, found \(upscale), \(traversalSteps), \(gallerySize), \(priorSamples)")
        }
        guard neighbours >= 0, priorSamples >= 0, scatterMaxPoints >= 0 else {
            throw ExplainError("explain options: expected neighbours, priorSamples and scatterMaxPoints >= 0, found \(neighbours), \(priorSamples), \(scatterMaxPoints)")
        }
        guard activeThreshold.isFinite, activeThreshold >= 0 else {
            throw ExplainError("explain option activeThreshold: expected a finite number >= 0, found \(activeThreshold)")
        }
        guard occlusionValue.isFinite else { throw ExplainError("explain option occlusionValue: expected a finite grey level, found \(occlusionValue)") }
        guard count > 0 else { throw ExplainError("explain --data: expected at least one sample to explain, found an empty dataset") }
        for s in samples where s < 0 || s >= count {
            throw ExplainError("explain --sample \(s): expected an index of the evaluation set in 0..<\(count), found \(s)")
        }
        guard latent > 0 else { throw ExplainError("explain --checkpoint: expected a model with a latent dimension > 0, found \(latent)") }
    }
}
