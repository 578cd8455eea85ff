import Basics
import Datasets
import Linalg
import MPI
import VAE

/// `--grad-low-rank R`: gradients travel as rank-R factors (PowerSGD, Vogels et al. 2019) with
/// error feedback, for links where the bytes of a step's gradients cost more than computing them.
///
/// Each weight matrix's gradient M (its first dimension by the rest) is sent as P = M Q
/// (rows x R) and, after P's columns are made orthonormal (P̂), as Q = Mᵀ P̂ (columns x R); the
/// step applies P̂ Qᵀ. Both products are linear in M, so the two allreduces give the factors of the
/// summed gradient. What the approximation leaves out is kept as a residual and added to the next
/// step's gradient, so nothing is lost, only delayed. Q is warm-started from the previous step's.
/// Biases, small tensors and the loss tail travel whole in P's message.
///
/// Each rank keeps E_i = M_i − P̂Qᵀ / size, so the residuals' sum is ΣM − P̂Qᵀ whatever the
/// rank count, and only that sum enters later steps: the trajectory does not depend on the rank
/// count beyond rounding. The checkpoint holds the sum (on rank 0 at a restore) and Q.
final class LowRankExchange {
    struct Factor {
        let spec: TensorSpec
        let rows: Int
        let columns: Int
        /// Offsets of this matrix's P in `pMessage` and of its Q in `q`.
        let p: Int
        let q: Int
    }

    let rank: Int
    let factors: [Factor]
    /// Arena ranges sent whole, in arena order.
    let whole: [Range<Int>]
    let parameterCount: Int
    let tailCount: Int
    let comm: Communicator
    let seed: UInt64
    /// Σ_i E_i's share on this rank, laid out as the arena (only the factors' ranges are used).
    let residual: FloatBuffer
    /// Every factor's Q, identical on every rank: the sum of the ranks' Mᵀ P̂.
    let q: FloatBuffer
    /// The P factors, then the whole tensors, then the tail: the first allreduce.
    let pMessage: FloatBuffer
    private let wholeCount: Int
    /// This step's time in the exchange (products, residuals, both allreduces) and in MPI alone.
    private(set) var seconds = 0.0
    private(set) var transferSeconds = 0.0

    /// Bytes a step sends per rank, for the log line and the scaling figures.
    var messageFloats: Int { pMessage.count + q.count }

    /// A tensor is factored when its factors take at most half its floats; otherwise it is sent
    /// whole (biases, the mixture's small tables), where the approximation would save nothing.
    static func factored(_ spec: TensorSpec, rank: Int) -> (rows: Int, columns: Int)? {
        guard spec.shape.count >= 2 else { return nil }
        let rows = spec.shape[0], columns = spec.count / max(spec.shape[0], 1)
        guard rank < min(rows, columns), 2 * rank * (rows + columns) <= rows * columns else { return nil }
        return (rows, columns)
    }

    init(layout: [TensorSpec], parameterCount: Int, tailCount: Int, rank: Int, seed: UInt64, comm: Communicator) {
        precondition(rank >= 1, "LowRankExchange: rank must be at least 1")
        self.rank = rank
        self.parameterCount = parameterCount
        self.tailCount = tailCount
        self.comm = comm
        self.seed = seed
        var factors: [Factor] = [], whole: [Range<Int>] = []
        var pCount = 0, qCount = 0
        for spec in layout.sorted(by: { $0.offset < $1.offset }) {
            if let (rows, columns) = Self.factored(spec, rank: rank) {
                factors.append(Factor(spec: spec, rows: rows, columns: columns, p: pCount, q: qCount))
                pCount += rows * rank
                qCount += columns * rank
            } else if let last = whole.last, last.upperBound == spec.offset {
                whole[whole.count - 1] = last.lowerBound..<(spec.offset + spec.count)
            } else {
                whole.append(spec.offset..<(spec.offset + spec.count))
            }
        }
        let covered = factors.reduce(0) { $0 + $1.spec.count } + whole.reduce(0) { $0 + $1.count }
        precondition(covered == parameterCount, "LowRankExchange: the layout does not cover the arena")
        self.factors = factors
        self.whole = whole
        wholeCount = whole.reduce(0) { $0 + $1.count }
        residual = FloatBuffer(count: parameterCount)
        q = FloatBuffer(count: qCount)
        pMessage = FloatBuffer(count: pCount + wholeCount + tailCount)
        seedQ()
    }

    /// Q's starting values: uniform in [-1, 1) keyed by the seed and the tensor's place, the same
    /// on every rank and for any rank count.
    private func seedQ(factor only: Int? = nil, column: Int? = nil) {
        for (index, f) in factors.enumerated() where only == nil || only == index {
            var random = SplitMix64(keys: seed, 0x504f_5745_5253_4744, UInt64(index), UInt64(column ?? rank))
            for i in 0..<(f.columns * rank) where column == nil || i % rank == column {
                q.buffer[f.q + i] = 2 * random.nextUnitFloat() - 1
            }
        }
    }

    /// Clears the residual and restarts Q: after a step whose sums were not finite, whose
    /// gradients would otherwise poison every later step through the residual.
    func reset() {
        for i in 0..<parameterCount { residual.buffer[i] = 0 }
        seedQ()
    }

    /// Replaces `arena[0..<parameterCount]` (this rank's gradients) by the approximation of their
    /// sum over the ranks and `arena[parameterCount...]`'s tail by its exact sum.
    func exchange(_ arena: UnsafeMutableBufferPointer<Float>) throws {
        let start = Clock.now()
        transferSeconds = 0
        let g = arena.baseAddress!, e = residual.buffer.baseAddress!, qs = q.buffer.baseAddress!
        let message = pMessage.buffer.baseAddress!
        let size = Float(comm.size)
        for f in factors {
            let o = f.spec.offset
            for i in o..<(o + f.spec.count) { e[i] += g[i] }
            Gemm.sgemm(transA: false, transB: false, m: f.rows, n: rank, k: f.columns,
                       alpha: 1, a: e + o, lda: f.columns, b: qs + f.q, ldb: rank, beta: 0, c: message + f.p, ldc: rank)
        }
        var w = pMessage.count - wholeCount - tailCount
        for r in whole { for i in r { message[w] = g[i]; w += 1 } }
        for t in 0..<tailCount { message[w + t] = g[parameterCount + t] }

        var t0 = Clock.now()
        try comm.allreduce(pMessage.buffer, op: .sum)
        transferSeconds += Clock.now() - t0

        w = pMessage.count - wholeCount - tailCount
        for r in whole { for i in r { g[i] = message[w]; w += 1 } }
        for t in 0..<tailCount { g[parameterCount + t] = message[w + t] }
        for f in factors {
            GramSchmidt.orthonormalizeColumns(message + f.p, rows: f.rows, columns: rank)
            Gemm.sgemm(transA: true, transB: false, m: f.columns, n: rank, k: f.rows,
                       alpha: 1, a: e + f.spec.offset, lda: f.columns, b: message + f.p, ldb: rank, beta: 0, c: qs + f.q, ldc: rank)
        }

        t0 = Clock.now()
        try comm.allreduce(q.buffer, op: .sum)
        transferSeconds += Clock.now() - t0

        for (index, f) in factors.enumerated() {
            let o = f.spec.offset
            Gemm.sgemm(transA: false, transB: true, m: f.rows, n: f.columns, k: rank,
                       alpha: 1, a: message + f.p, lda: rank, b: qs + f.q, ldb: rank, beta: 0, c: g + o, ldc: f.columns)
            let share = 1 / size
            for i in o..<(o + f.spec.count) { e[i] -= share * g[i] }
            // A column of Q that came out zero (a direction P̂ lost) would stay zero through the
            // warm start; it starts again from its seeded values instead.
            for c in 0..<rank {
                var any = false
                for i in 0..<f.columns where qs[f.q + i * rank + c] != 0 { any = true; break }
                if !any { seedQ(factor: index, column: c) }
            }
        }
        seconds = Clock.now() - start
    }
}

/// The exchange's state in a checkpoint, beside Adam's (the `optimizer.` prefix keeps model loaders
/// from taking it for weights): each factored tensor's Q and the residuals' sum over the ranks.
extension LowRankExchange {
    static func qName(_ spec: TensorSpec) -> String { "optimizer.lowrank.q." + spec.name }
    static func residualName(_ spec: TensorSpec) -> String { "optimizer.lowrank.residual." + spec.name }

    /// Every rank calls it (the residuals are summed); rank 0 gets the tensors, the others none.
    /// The buffer returned must stay alive while the tensors are written.
    func checkpointTensors() throws -> (keep: FloatBuffer, tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)]) {
        let sum = FloatBuffer(count: parameterCount)
        _ = sum.buffer.update(from: residual.buffer)
        try comm.allreduce(sum.buffer, op: .sum)
        guard comm.rank == 0 else { return (sum, []) }
        var list: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] = []
        for f in factors {
            list.append((Self.qName(f.spec), [f.columns, rank], UnsafeBufferPointer(rebasing: q.buffer[f.q..<(f.q + f.columns * rank)])))
            let o = f.spec.offset
            list.append((Self.residualName(f.spec), f.spec.shape, UnsafeBufferPointer(rebasing: sum.buffer[o..<(o + f.spec.count)])))
        }
        return (sum, list)
    }

    /// Rank 0, from a verified checkpoint: the saved state when it was written with this rank R,
    /// else (none saved, or another R) a fresh start, which the returned line says.
    func install(_ loaded: LoadedCheckpoint) throws -> String? {
        let fits = factors.allSatisfy { f in
            loaded.tensors[Self.qName(f.spec)]?.shape == [f.columns, rank] && loaded.tensors[Self.residualName(f.spec)]?.shape == f.spec.shape
        }
        guard fits else {
            reset()
            let any = loaded.tensorNames.contains { $0.hasPrefix("optimizer.lowrank.") }
            return any ? "the checkpoint's low-rank state is for another --grad-low-rank; the residual starts at zero and Q afresh"
                       : "the checkpoint holds no low-rank state (saved without --grad-low-rank); the residual starts at zero"
        }
        for f in factors {
            try loaded.copy(Self.qName(f.spec), shape: [f.columns, rank],
                            into: UnsafeMutableBufferPointer(rebasing: q.buffer[f.q..<(f.q + f.columns * rank)]))
            let o = f.spec.offset
            try loaded.copy(Self.residualName(f.spec), shape: f.spec.shape,
                            into: UnsafeMutableBufferPointer(rebasing: residual.buffer[o..<(o + f.spec.count)]))
        }
        return nil
    }

    /// After rank 0's `install`: every rank takes its Q; rank 0 alone holds the residuals' sum,
    /// which is all later steps depend on, so any rank count resumes the same run.
    func distribute() throws {
        try comm.broadcast(q.buffer, root: 0)
        if comm.rank != 0 { for i in 0..<parameterCount { residual.buffer[i] = 0 } }
    }
}
