import Datasets

/// The settings of the local surrogate explanations (`mpivae explain --lime ...`).
public struct LIMESettings: Equatable {
    /// Perturbations per explained sample (S), the sample itself among them.
    public var perturbations = 1000
    public var segments: SegmentationMethod = .grid(4)
    public var kernelWidth = LIMEKernel.defaultWidth
    public var baseline: LIMEBaseline = .mean
    public var ridge = WeightedRidge.defaultLambda
    /// How many evaluation samples get a surrogate: the export's `--sample` ones first, then
    /// the first of each class, then the first indices.
    public var explainedSamples = 16
    /// Rows of one forward pass. A sample's perturbations are cut into batches of this size (the
    /// last one shorter) and no batch mixes samples, so each perturbation goes through the same
    /// BLAS shapes with the same neighbours whatever the number of ranks, and its answer is the
    /// same bits: ranks share out whole batches.
    public var batchRows = 100
    /// Heat maps for the report's comparison: the sample's most informative active units.
    public var shownUnits = 6

    public init() {}

    static let maximumPerturbations = 1_000_000

    /// The same checks as the export makes, for a caller that decides whether to ask for LIME.
    public func check(for dataset: Dataset) throws {
        try validate(shape: ImageShape(sampleShape: dataset.sampleShape, values: dataset.valueRange),
                     dimension: dataset.dimension, count: dataset.count)
    }

    /// Refuses settings no explanation can use, before any work and on every rank alike.
    func validate(shape: ImageShape?, dimension: Int, count: Int) throws {
        guard kernelWidth.isFinite, kernelWidth > 0 else {
            throw ExplainError("--lime-kernel-width: expected a width above 0 (the kernel is exp(-d^2 / w^2) on a distance in [0, 1]), found \(kernelWidth)")
        }
        guard ridge.isFinite, ridge >= 0 else {
            throw ExplainError("LIME ridge penalty: expected a finite number >= 0, found \(ridge)")
        }
        guard explainedSamples >= 1, batchRows >= 1, shownUnits >= 0 else {
            throw ExplainError("LIME settings: expected at least one explained sample and one row a batch, found \(explainedSamples) and \(batchRows)")
        }
        switch (segments, shape) {
        case (.grid(let cell), let s?):
            guard cell <= min(s.height, s.width) else {
                throw ExplainError("--lime-segments \(segments): expected a cell side of at most \(min(s.height, s.width)) pixels (the images are \(s.height)x\(s.width)), found \(cell)")
            }
        case (.slic(let n), let s?):
            guard n <= s.pixels else {
                throw ExplainError("--lime-segments \(segments): expected at most \(s.pixels) superpixels (the images are \(s.height)x\(s.width)), found \(n)")
            }
        case (_, nil):
            if case .blur = baseline {
                throw ExplainError("--lime-baseline \(baseline): blurring needs images, and these samples are rows of \(dimension) values; use mean or constant:V")
            }
        }
        let m = segments.maximumSegments(shape: shape, dimension: dimension)
        let what = shape == nil ? "\(m) features of a table row" : "\(m) segments of \(segments) on \(shape!.height)x\(shape!.width)"
        guard perturbations >= m else {
            throw ExplainError("--lime-samples \(perturbations): expected at least as many perturbations as segments (the \(what)), found \(perturbations)")
        }
        guard perturbations <= Self.maximumPerturbations else {
            throw ExplainError("--lime-samples \(perturbations): expected at most \(Self.maximumPerturbations) perturbations a sample, found \(perturbations)")
        }
        guard count > 0 else { throw ExplainError("LIME: expected samples to explain, found an empty dataset") }
    }
}
