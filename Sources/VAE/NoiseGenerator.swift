import Foundation

/// Counter-based random numbers (Philox4x32-10): the value at a position is a pure function of
/// (seed, epoch, sample index, stream, position), so a sample's noise is the same whichever
/// batch, rank or world size it lands in, and nothing has to be carried between steps.
///
/// Key = the 64-bit seed; counter = (block, sample index low 32 bits, stream ^ index high bits,
/// epoch). Each block yields four 32-bit words.
public enum NoiseGenerator {
    /// Reparameterization noise of training steps.
    public static let trainingStream = 0
    /// Uniforms for dynamic binarization.
    public static let binarizeStream = 1
    /// The single eps of an evaluation ELBO.
    public static let evaluationStream = 2
    /// IWAE sample k uses stream `iwaeStreamBase + k`.
    public static let iwaeStreamBase = 16
    /// Parameter initialization (epoch field = tensor index).
    public static let initStream = 7
    /// Posterior refinement's draw s (0..<8) uses stream `refinementStreamBase + s`, epoch field =
    /// the refinement step: between initialization's stream and the IWAE streams.
    public static let refinementStreamBase = 8

    @inline(__always)
    static func mulhilo(_ a: UInt32, _ b: UInt32) -> (hi: UInt32, lo: UInt32) {
        let p = UInt64(a) &* UInt64(b)
        return (UInt32(truncatingIfNeeded: p >> 32), UInt32(truncatingIfNeeded: p))
    }

    /// Ten Philox rounds over a 128-bit counter with a 64-bit key.
    @inline(__always)
    static func philox(_ c: SIMD4<UInt32>, key: (UInt32, UInt32)) -> SIMD4<UInt32> {
        var c = c
        var k0 = key.0, k1 = key.1
        for _ in 0..<10 {
            let (hi0, lo0) = mulhilo(0xD251_1F53, c[0])
            let (hi1, lo1) = mulhilo(0xCD9E_8D57, c[2])
            c = SIMD4(hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return c
    }

    @inline(__always)
    static func counter(block: Int, epoch: Int, sampleIndex: Int, stream: Int) -> SIMD4<UInt32> {
        let idx = UInt64(bitPattern: Int64(sampleIndex))
        return SIMD4(
            UInt32(truncatingIfNeeded: block),
            UInt32(truncatingIfNeeded: idx),
            UInt32(truncatingIfNeeded: stream) ^ (UInt32(truncatingIfNeeded: idx >> 32) << 16),
            UInt32(truncatingIfNeeded: epoch))
    }

    @inline(__always)
    static func key(_ seed: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// `count` standard normals: Box–Muller on pairs of 24-bit uniforms, in Float with the
    /// vectorizable FastMath functions (libm's Double log/sin/cos cost 40 ns a pair). u1 is in
    /// (0, 1], so radii stop at sqrt(2·24·ln 2) ≈ 5.8: tails beyond 5.8σ (p ≈ 7e-9) are cut.
    public static func fillGaussian(
        seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int,
        into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        let k = key(seed)
        var produced = 0
        var block = 0
        let scale: Float = 1.0 / 16_777_216.0
        while produced < count {
            let r = philox(counter(block: block, epoch: epoch, sampleIndex: sampleIndex, stream: stream), key: k)
            block += 1
            for pair in 0..<2 {
                let u1 = Float((r[2 * pair] >> 8) + 1) * scale
                let u2 = Float(r[2 * pair + 1] >> 8) * scale
                let radius = FastMath.sqrt(-2 * FastMath.log(u1))
                let (s, c) = FastMath.sinCosTurns(u2)
                if produced < count { out[produced] = radius * c; produced += 1 }
                if produced < count { out[produced] = radius * s; produced += 1 }
            }
        }
    }

    /// `count` uniforms in [0, 1) with 24 random bits each.
    public static func fillUniform(
        seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int,
        into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        forEachUniform(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: stream, count: count) { i, u in out[i] = u }
    }

    /// In place: x[i] = 1 if u_i < x[i] else 0, u from the binarization stream of this sample.
    /// Blockwise, so no scratch buffer is needed.
    public static func binarize(
        seed: UInt64, epoch: Int, sampleIndex: Int,
        _ x: UnsafeMutablePointer<Float>, count: Int
    ) {
        forEachUniform(seed: seed, epoch: epoch, sampleIndex: sampleIndex, stream: binarizeStream, count: count) { i, u in
            x[i] = u < x[i] ? 1 : 0
        }
    }

    /// The i-th uniform of a sample's stream, for i in 0..<count, four from each Philox block.
    @inline(__always)
    static func forEachUniform(seed: UInt64, epoch: Int, sampleIndex: Int, stream: Int, count: Int,
                               _ body: (Int, Float) -> Void) {
        let k = key(seed)
        var i = 0
        var block = 0
        while i < count {
            let r = philox(counter(block: block, epoch: epoch, sampleIndex: sampleIndex, stream: stream), key: k)
            block += 1
            for lane in 0..<4 where i < count {
                body(i, Float(r[lane] >> 8) * (1.0 / 16_777_216.0))
                i += 1
            }
        }
    }
}
