/// The canonical chunking of a dataset's sample index space that every evaluation follows.
///
/// BLAS libraries round a row of a product differently depending on the product's shape: OpenBLAS
/// picks small-matrix kernels, tail kernels and thread splits from m, n and k, and the elementwise
/// kernels around the products have vector bodies and scalar tails whose split depends on the
/// element count. So a sample's result depends on the rows it shares a product with unless those
/// are fixed. Here they are: sample `i` always travels in block `i / rows`, at row `i % rows` of a
/// product with exactly `rows` rows (absent rows are zeros, and a row of a product depends on its
/// own inputs only). Whatever the rank count, the caller's batch size or where a call starts, a
/// sample goes through the same calls on the same shapes, so its result is the same bit for bit
/// (given the BLAS kernel and the BLAS threads per rank).
public enum EvaluationBlocks {
    /// Rows of every evaluation product: a multiple of every x86 sgemm kernel's tile, so no block
    /// has tail rows, and enough rows for sgemm to run near its speed.
    public static let rows = 64

    /// Blocks covering `count` samples (the last one may be partly empty).
    public static func count(samples: Int) -> Int { (max(samples, 0) + rows - 1) / rows }

    /// Rank `rank`'s contiguous share of `samples` samples, made of whole blocks (block counts differ
    /// by at most one; a rank may get none), so no block is split between ranks.
    public static func share(samples: Int, rank: Int, worldSize: Int) -> Range<Int> {
        let blocks = count(samples: samples)
        let lo = blocks * rank / worldSize, hi = blocks * (rank + 1) / worldSize
        return min(lo * rows, samples)..<min(hi * rows, samples)
    }

    /// Splits `count` consecutive samples from global index `first` at block boundaries and calls
    /// `body(offset, row, n)` for each piece: `offset` into the caller's rows, `row` where the piece
    /// starts inside its block, `n` its length.
    @inline(__always)
    static func forEachPiece(first: Int, count: Int, _ body: (Int, Int, Int) -> Void) {
        var offset = 0
        while offset < count {
            let row = (first + offset) % rows
            let n = min(rows - row, count - offset)
            body(offset, row, n)
            offset += n
        }
    }
}
