import Datasets

/// LIME's perturbations of one sample: binary masks over its segments, each segment kept with
/// probability 1/2, drawn from a generator keyed by (seed, sample index, perturbation index). A
/// mask is thus a pure function of its key: the rank that evaluates it and the rank 0 that fits
/// it draw the same bits, whatever the number of ranks or the order of the work.
public struct PerturbationMasks {
    public let seed: UInt64
    public let sample: Int
    public let segments: Int

    public init(seed: UInt64, sample: Int, segments: Int) {
        self.seed = seed
        self.sample = sample
        self.segments = segments
    }

    /// Mask `s` (1 keeps a segment, 0 replaces it with the baseline). Mask 0 keeps everything:
    /// the sample itself anchors the fit where the kernel weighs most.
    public func mask(_ s: Int, into out: UnsafeMutablePointer<Float>) {
        guard s > 0 else { out.update(repeating: 1, count: segments); return }
        var random = SplitMix64(keys: seed, 0x4c49_4d45 /* "LIME" */, UInt64(bitPattern: Int64(sample)), UInt64(s))
        var bits: UInt64 = 0
        for j in 0..<segments {
            if j % 64 == 0 { bits = random.next() }
            out[j] = bits & 1 == 1 ? 1 : 0
            bits >>= 1
        }
    }

    /// Masks `range` as rows of a (range.count x segments) matrix.
    public func masks(_ range: Range<Int>) -> [Float] {
        var z = [Float](repeating: 0, count: range.count * segments)
        z.withUnsafeMutableBufferPointer { p in
            for (r, s) in range.enumerated() { mask(s, into: p.baseAddress! + r * segments) }
        }
        return z
    }

    /// The perturbed input: each value from the sample where its segment is kept, else from the
    /// baseline.
    public static func apply(mask: UnsafePointer<Float>, segmentation: Segmentation, sample x: UnsafePointer<Float>,
                             baseline b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for (p, l) in segmentation.labels.enumerated() { out[p] = mask[Int(l)] != 0 ? x[p] : b[p] }
    }
}
