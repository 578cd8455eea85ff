import Datasets
import MPI

/// What every rank agrees to explain, computed alike on each from the same inputs: the samples,
/// their segmentations and baselines, and the list of forward batches.
struct LIMEPlan {
    struct Batch: Equatable {
        /// Position of the sample in `samples`.
        let slot: Int
        /// Perturbation indices of that sample.
        let range: Range<Int>
    }

    let settings: LIMESettings
    let seed: UInt64
    let samples: [Int]
    let inputs: [[Float]]
    let segmentations: [Segmentation]
    let baselines: [[Float]]
    let batches: [Batch]
    let shape: ImageShape?

    init(dataset: Dataset, settings: LIMESettings, seed: UInt64, requested: [Int], shape: ImageShape?) {
        self.settings = settings
        self.seed = seed
        self.shape = shape
        samples = Self.chooseSamples(dataset: dataset, requested: requested, count: settings.explainedSamples)
        inputs = samples.map { dataset.rows([$0]) }
        segmentations = inputs.map { settings.segments.segment($0[...], shape: shape) }
        let mean = settings.baseline == .mean || shape == nil ? LIMEBaseline.meanSample(dataset) : []
        baselines = inputs.map { settings.baseline.values(for: $0, shape: shape, mean: mean) }
        var batches: [Batch] = []
        for slot in samples.indices {
            for start in stride(from: 0, to: settings.perturbations, by: settings.batchRows) {
                batches.append(Batch(slot: slot, range: start..<min(start + settings.batchRows, settings.perturbations)))
            }
        }
        self.batches = batches
    }

    /// The export's own samples first, then the first sample of each class, then the lowest
    /// indices, up to `count` distinct ones.
    static func chooseSamples(dataset: Dataset, requested: [Int], count: Int) -> [Int] {
        var chosen: [Int] = [], seen = Set<Int>()
        func add(_ i: Int) { if chosen.count < count, i >= 0, i < dataset.count, seen.insert(i).inserted { chosen.append(i) } }
        for i in requested { add(i) }
        if let labels = dataset.labels {
            var classes = Set<Int32>()
            for (i, l) in labels.enumerated() where classes.insert(l).inserted { add(i) }
        }
        var i = 0
        while chosen.count < min(count, dataset.count) { add(i); i += 1 }
        return chosen
    }

    func masks(slot: Int) -> PerturbationMasks {
        PerturbationMasks(seed: seed, sample: samples[slot], segments: segmentations[slot].count)
    }

    /// The answers of every target for batches `range` of `batches`, concatenated in batch order
    /// (rows x targets).
    func evaluate(batches range: Range<Int>, quantities: PosteriorQuantities) -> [Float] {
        let D = quantities.inputDim, T = quantities.targets.count
        let rows = batches[range].reduce(0) { $0 + $1.range.count }
        var out = [Float](repeating: 0, count: rows * T)
        var x = [Float](repeating: 0, count: settings.batchRows * D)
        var z = [Float](repeating: 0, count: settings.batchRows * (segmentations.map(\.count).max() ?? 1))
        var written = 0
        for batch in batches[range] {
            let s = segmentations[batch.slot], m = masks(slot: batch.slot)
            let b = batch.range.count
            z.withUnsafeMutableBufferPointer { zp in
                x.withUnsafeMutableBufferPointer { xp in
                    inputs[batch.slot].withUnsafeBufferPointer { sample in
                        baselines[batch.slot].withUnsafeBufferPointer { base in
                            for (r, p) in batch.range.enumerated() {
                                m.mask(p, into: zp.baseAddress! + r * s.count)
                                PerturbationMasks.apply(mask: zp.baseAddress! + r * s.count, segmentation: s,
                                                        sample: sample.baseAddress!, baseline: base.baseAddress!,
                                                        into: xp.baseAddress! + r * D)
                            }
                        }
                    }
                }
            }
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { o in
                    quantities.evaluate(rows: b, input: xp.baseAddress!, into: o.baseAddress! + written * T)
                }
            }
            written += b
        }
        return out
    }

    /// This rank's whole batches: a contiguous share of the list.
    func share(rank: Int, size: Int) -> Range<Int> {
        ShardedSampler.contiguousShare(of: batches.count, rank: rank, worldSize: size)
    }
}

/// Every target's answer to every perturbation, at rank 0.
struct LIMEEvaluations {
    let plan: LIMEPlan
    let targets: [PosteriorTarget]
    /// Per explained sample: perturbations x targets, row-major.
    let outputs: [[Float]]
}

/// The collective part of LIME: the forward batches of all explained samples shared out across
/// ranks and the answers gathered, in batch order, to rank 0, which fits the surrogates alone
/// (the fits are small next to the forwards).
enum LIMEDriver {
    static func run(plan: LIMEPlan, quantities: PosteriorQuantities, communicator: Communicator?) throws -> LIMEEvaluations? {
        let rank = communicator?.rank ?? 0, size = communicator?.size ?? 1
        let local = plan.evaluate(batches: plan.share(rank: rank, size: size), quantities: quantities)
        let all: [Float]
        if let comm = communicator, size > 1 {
            let parts = try comm.gatherv(local, root: 0)
            guard rank == 0 else { return nil }
            all = parts.flatMap { $0 }
        } else {
            all = local
        }
        return try split(all, plan: plan, targets: quantities.targets)
    }

    static func split(_ all: [Float], plan: LIMEPlan, targets: [PosteriorTarget]) throws -> LIMEEvaluations {
        let T = targets.count, S = plan.settings.perturbations
        guard all.count == plan.samples.count * S * T else {
            throw ExplainError("LIME gather: expected \(plan.samples.count * S * T) values from the ranks (\(plan.samples.count) samples x \(S) perturbations x \(T) targets), found \(all.count)")
        }
        // Batches list each sample's perturbations in order, sample after sample.
        let outputs = plan.samples.indices.map { Array(all[($0 * S * T)..<(($0 + 1) * S * T)]) }
        return LIMEEvaluations(plan: plan, targets: targets, outputs: outputs)
    }
}
