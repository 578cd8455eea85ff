import CBLAS

/// Thin wrappers over `cblas_sgemm` for the three products a dense layer needs.
///
/// Shapes follow the layer convention `y = x W^T + b` with `W` stored `[out, in]` row-major:
/// forward `Y = X W^T`, input gradient `dX = dY W`, weight gradient `dW = dY^T X`.
public enum Gemm {
    /// Counts floating-point operations of every product issued (2·m·n·k), when enabled.
    /// Used by the step benchmark to report the FLOP actually executed instead of a formula.
    public nonisolated(unsafe) static var flopCounter: Int = 0
    public nonisolated(unsafe) static var countFlops = false
    /// Wall time spent inside sgemm, accumulated while `timeCalls` is set (benchmark phases).
    public nonisolated(unsafe) static var seconds: Double = 0
    public nonisolated(unsafe) static var timeCalls = false

    /// C[m,n] = alpha · op(A) · op(B) + beta · C, all row-major.
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if countFlops { flopCounter += 2 * m * n * k }
        let t0 = timeCalls ? Clock.now() : 0
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        if timeCalls { seconds += Clock.now() - t0 }
    }

    /// Y[rows, out] = X[rows, in] · W[out, in]^T + beta · Y.
    @inline(__always)
    public static func linear(
        rows: Int, inDim: Int, outDim: Int,
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, beta: Float = 0
    ) {
        sgemm(transA: false, transB: true, m: rows, n: outDim, k: inDim,
              alpha: 1, a: x, lda: inDim, b: w, ldb: inDim, beta: beta, c: y, ldc: outDim)
    }

    /// dX[rows, in] = dY[rows, out] · W[out, in] + beta · dX.
    @inline(__always)
    public static func inputGradient(
        rows: Int, inDim: Int, outDim: Int,
        dy: UnsafePointer<Float>, w: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, beta: Float = 0
    ) {
        sgemm(transA: false, transB: false, m: rows, n: inDim, k: outDim,
              alpha: 1, a: dy, lda: outDim, b: w, ldb: inDim, beta: beta, c: dx, ldc: inDim)
    }

    /// dW[out, in] = alpha · dY[rows, out]^T · X[rows, in] + beta · dW.
    @inline(__always)
    public static func weightGradient(
        rows: Int, inDim: Int, outDim: Int,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
        alpha: Float = 1, beta: Float = 0
    ) {
        sgemm(transA: true, transB: false, m: outDim, n: inDim, k: rows,
              alpha: alpha, a: dy, lda: outDim, b: x, ldb: inDim, beta: beta, c: dw, ldc: inDim)
    }
}
