/// One explained sample's surrogates: a weighted linear model over its segments for each target.
struct LIMEExplanation {
    let index: Int
    let segmentation: Segmentation
    let targets: [PosteriorTarget]
    let fit: WeightedRidge.Fit
    /// The target's value on the unperturbed sample.
    let original: [Float]

    func weights(_ t: Int) -> [Double] { Array(fit.coefficients(target: t)) }

    /// Per pixel, its segment's weight shared evenly among the segment's pixels, so the map sums
    /// to the segments' total like a pixel-level attribution does.
    func pixelAttribution(_ t: Int) -> [Float] {
        let w = fit.coefficients(target: t), sizes = segmentation.sizes
        return segmentation.labels.map { Float(w[w.startIndex + Int($0)] / Double(max(sizes[Int($0)], 1))) }
    }
}

enum LIMEFit {
    /// Fits every target `explains` accepts, for each explained sample, from the gathered answers.
    static func fit(_ e: LIMEEvaluations, explains: (PosteriorTarget) -> Bool) throws -> [LIMEExplanation] {
        let kernel = LIMEKernel(width: e.plan.settings.kernelWidth)
        let S = e.plan.settings.perturbations, T = e.targets.count
        let chosen = e.targets.indices.filter { explains(e.targets[$0]) }
        return try e.plan.samples.indices.map { slot in
            let seg = e.plan.segmentations[slot], M = seg.count
            let z = e.plan.masks(slot: slot).masks(0..<S)
            let w = z.withUnsafeBufferPointer { p in (0..<S).map { kernel.weight(mask: p.baseAddress! + $0 * M, segments: M) } }
            let all = e.outputs[slot]
            var y = [Float](repeating: 0, count: S * chosen.count)
            for s in 0..<S { for (k, t) in chosen.enumerated() { y[s * chosen.count + k] = all[s * T + t] } }
            let fit = try WeightedRidge.fit(z: z, y: y, weights: w, rows: S, features: M, targets: chosen.count,
                                            lambda: e.plan.settings.ridge)
            return LIMEExplanation(index: e.plan.samples[slot], segmentation: seg, targets: chosen.map { e.targets[$0] },
                                   fit: fit, original: chosen.map { all[$0] })
        }
    }
}
