import Foundation

/// Single-call sgemm throughput with the current BLAS thread count: the roofline the step
/// benchmark compares itself to.
public enum SgemmPeak {
    /// Best of `repeats` timed `size^3` products, in GFLOP/s (2·n^3 FLOP each).
    public static func measure(size: Int = 1024, repeats: Int = 5) -> Double {
        let n = size
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) {
            // Deterministic, non-trivial values: denormals or zeros would not change sgemm speed,
            // but keep the product numerically tame.
            a.buffer[i] = Float((i &* 7919) % 1000) * 1e-3 - 0.5
            b.buffer[i] = Float((i &* 104_729) % 1000) * 1e-3 - 0.5
        }
        // One untimed call: OpenBLAS allocates its packing buffers on first use.
        Gemm.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n,
                   b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = Clock.now()
            Gemm.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n,
                       b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
            best = min(best, Clock.now() - t0)
        }
        return 2.0 * Double(n) * Double(n) * Double(n) / best / 1e9
    }
}
