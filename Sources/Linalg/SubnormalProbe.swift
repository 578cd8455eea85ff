import Foundation

/// Checks, by values, whether the BLAS threads flush subnormals: each thread computes its own
/// block of a product, so a thread that keeps subnormals leaves them in its block of the result.
public enum SubnormalProbe {
    public struct Result: Codable, Equatable {
        /// BLAS threads the products ran with.
        public var threads: Int
        /// Outputs of the two products together.
        public var outputs: Int
        /// Outputs that came out subnormal: 0 when every thread flushes, `outputs` when none does.
        public var subnormalOutputs: Int
    }

    /// Two `size x size` products with an inner dimension of 64, with `threads` BLAS threads
    /// (restored afterwards): subnormal inputs times ones (zero under denormals-are-zero), and
    /// normal inputs of 1e-20 whose products, 1e-40, are subnormal (zero under flush-to-zero).
    /// Without either, every output is a sum of 64 such terms, about 6.4e-39: still subnormal.
    /// `size` 512 is far above OpenBLAS's threshold for splitting an sgemm across threads.
    public static func sgemm(threads: Int, size: Int = 512) -> Result {
        let previous = BLASInfo.threads
        BLASInfo.setThreads(threads)
        let actual = BLASInfo.threads
        defer { BLASInfo.setThreads(previous) }
        let n = size, k = 64
        let a = FloatBuffer(count: n * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: n * n)
        var subnormal = 0
        for (left, right) in [(Float(bitPattern: 0x0001_1700), Float(1)), (Float(1e-20), Float(1e-20))] {
            for i in 0..<(n * k) { a.buffer[i] = left; b.buffer[i] = right }
            Gemm.sgemm(transA: false, transB: false, m: n, n: n, k: k, alpha: 1, a: a.pointer, lda: k,
                       b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
            subnormal += SubnormalMode.count(UnsafeBufferPointer(c.buffer))
        }
        return Result(threads: actual, outputs: 2 * n * n, subnormalOutputs: subnormal)
    }
}
