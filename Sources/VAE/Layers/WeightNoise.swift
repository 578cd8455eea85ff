/// Which weights a Bayesian layer's forward pass uses, and where its noise comes from: one of these
/// per layer stack, set by the owner of the pass (training workspace, evaluator) before each
/// forward, read by every Bayesian layer of the stack.
///
/// Noise is keyed by (seed, draw, global sample index, layer) through the counter RNG, never by
/// the row a sample lands in, so a sample's noise does not depend on its batch, chunk or rank.
/// `draw` is the epoch in training and the weight-sample (and importance-sample) number in
/// evaluation; the stream separates training from evaluation and one layer from another.
public final class WeightNoise {
    public enum Mode: Equatable, Sendable {
        /// Weights at their means: the deterministic network (no variance products at all).
        case mean
        /// Pre-activation noise from the counter RNG, keyed per row by `sample` / `draw`.
        case sampled
        /// The noise the caller wrote into the layers' buffers (reference tests).
        case given
    }

    public var mode: Mode = .mean
    public var seed: UInt64 = 0
    /// Base of the layers' streams: `trainingStream` or `evaluationStream`.
    public var stream: Int = WeightNoise.trainingStream
    /// Global sample index of each row; negative: an absent (zero) row, whose noise is zero.
    public let sample: UnsafeMutablePointer<Int>
    /// Draw of each row (epoch, or weight-sample number in evaluation).
    public let draw: UnsafeMutablePointer<Int>
    public let capacity: Int

    /// Streams of the counter RNG: layer `i` uses `base + i`, far from the latent noise's streams.
    public static let trainingStream = 1024
    public static let evaluationStream = 4096

    public init(rows: Int) {
        capacity = max(1, rows)
        sample = .allocate(capacity: capacity)
        sample.initialize(repeating: -1, count: capacity)
        draw = .allocate(capacity: capacity)
        draw.initialize(repeating: 0, count: capacity)
    }

    deinit {
        sample.deallocate()
        draw.deallocate()
    }

    /// Sets every row of `0..<rows` to the same draw, samples from `indices`.
    public func setRows<C: Collection>(_ indices: C, draw d: Int) where C.Element: BinaryInteger {
        var r = 0
        for i in indices where r < capacity {
            sample[r] = Int(i)
            draw[r] = d
            r += 1
        }
        while r < capacity { sample[r] = -1; draw[r] = 0; r += 1 }
    }

    /// One row's standard normals for layer `layer`: `count` values into `out`.
    @inline(__always)
    func fill(row r: Int, layer: Int, into out: UnsafeMutablePointer<Float>, count: Int) {
        let s = sample[r]
        if s < 0 {
            out.update(repeating: 0, count: count)
            return
        }
        NoiseGenerator.fillGaussian(seed: seed, epoch: draw[r], sampleIndex: s, stream: stream + layer,
                                    into: out, count: count)
    }
}
