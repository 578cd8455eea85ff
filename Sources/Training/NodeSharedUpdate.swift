import Foundation
import Linalg
import MPI
import VAE

/// The sharded optimizer's step end (`--shard-optimizer`) for ranks that share one host, done in
/// shared memory instead of by collectives: each rank sums its own slice of the gradients
/// straight out of every rank's arena, runs Adam on that slice, and copies the other slices of
/// the updated parameters out of their owners' arenas. A byte of gradient is read once where a
/// reduce-scatter and an all-gather through the transport's buffers copy it twice on the way;
/// what remains of communication is three barriers.
///
/// The same arithmetic as `ShardedUpdate`: a slice's element is the sum over ranks in rank order
/// (on two ranks a + b, the allreduce's value either way round), the squared norm and the loss
/// sums are added in double in rank order, so the trajectory is the unsharded one bit for bit on
/// two ranks and deterministic on any number.
///
/// Ordering (each `synchronize` is a barrier with memory synchronization): (A) every rank's
/// gradients are final, then each rank reads its slice of every arena and writes the sums into
/// that slice of its own arena, which no other rank reads; (B) every rank's statistics are
/// published, then each updates its parameter slice; (C) every slice is updated, then each copies
/// the others. A rank writes its gradients again only after the next step's backward pass, by
/// when every peer has passed (B) and so finished reading them; a slice of parameters is written
/// again only after the next (B), which no rank reaches before finishing its copies.
final class NodeSharedUpdate: ShardedStepEnd {
    let shard: OptimizerShard
    let arenas: NodeSharedArenas
    let optimizer: Adam
    let tailCount: Int
    /// One block of the running sum: 16 KiB, which stays in the L1 cache.
    private let blockBuffer = FloatBuffer(count: 4096)
    /// The loss tail summed over ranks, in double.
    private let tail: UnsafeMutableBufferPointer<Double>

    /// `MPIVAE_NODE_SHARED_UPDATE=0` keeps the collectives on one host too (for comparisons).
    static var enabled: Bool { ProcessInfo.processInfo.environment["MPIVAE_NODE_SHARED_UPDATE"] != "0" }

    init(shard: OptimizerShard, arenas: NodeSharedArenas, optimizer: Adam, tailCount: Int) {
        precondition(optimizer.count == shard.range.count, "NodeSharedUpdate: Adam holds \(optimizer.count) moments, the shard \(shard.range.count)")
        precondition(shard.ranks == arenas.window.comm.size && shard.total == arenas.sizes.parameters,
                     "NodeSharedUpdate: the shard does not match the shared arenas")
        precondition(arenas.statisticsCount >= tailCount + 1, "NodeSharedUpdate: no room for the step's statistics")
        self.shard = shard
        self.arenas = arenas
        self.optimizer = optimizer
        self.tailCount = tailCount
        tail = .allocate(capacity: tailCount)
        tail.initialize(repeating: 0)
    }

    deinit { tail.deallocate() }

    func run(arena: UnsafeMutableBufferPointer<Float>, globalRows: Int, clipNorm: Float) throws -> (finite: Bool, seconds: Double) {
        let total = shard.total
        let own = arenas.gradients(of: shard.rank)
        precondition(arena.baseAddress == own, "NodeSharedUpdate: the step's arena is not this rank's shared segment")
        let window = arenas.window
        let t0 = Clock.now()
        try window.synchronize()
        var seconds = Clock.now() - t0

        let range = shard.range
        let lo = range.lowerBound, n = range.count
        let slice = own + lo
        if n > 0 { sumInRankOrder(into: slice, from: lo, count: n) }
        let published = arenas.statistics(of: shard.rank)
        for i in 0..<tailCount { published[i] = Double(arena[total + i]) }
        published[tailCount] = n > 0 ? Reductions.sumOfSquaresPrecise(slice, count: n) : 0
        let t1 = Clock.now()
        try window.synchronize()
        seconds += Clock.now() - t1

        var squares = 0.0
        for i in 0..<tailCount { tail[i] = 0 }
        for r in 0..<shard.ranks {
            let s = arenas.statistics(of: r)
            for i in 0..<tailCount { tail[i] += s[i] }
            squares += s[tailCount]
        }
        for i in 0..<tailCount { arena[total + i] = Float(tail[i]) }
        // Every rank read the same statistics, so every rank skips alike and no barrier is left open.
        guard let scale = ShardedStepScale.decide(squares: squares, tailFinite: tail.allSatisfy { $0.isFinite },
                                                  globalRows: globalRows, clipNorm: clipNorm) else { return (false, seconds) }
        let parameters = arenas.parameters(of: shard.rank)
        optimizer.update(parameters: UnsafeMutableBufferPointer(start: parameters + lo, count: n),
                         gradients: UnsafeMutableBufferPointer(start: slice, count: n), gradScale: scale)
        let t2 = Clock.now()
        try window.synchronize()
        for r in 0..<shard.ranks where r != shard.rank {
            let owner = Int(shard.displacements[r]), count = Int(shard.counts[r])
            if count > 0 { (parameters + owner).update(from: arenas.parameters(of: r) + owner, count: count) }
        }
        seconds += Clock.now() - t2
        return (true, seconds)
    }

    /// `out[i] = g_0[lo + i] + g_1[lo + i] + ...` in rank order, where `out` is this rank's own
    /// slice, one of the addends: a block is summed in a small buffer before it is written back.
    private func sumInRankOrder(into out: UnsafeMutablePointer<Float>, from lo: Int, count: Int) {
        let block = blockBuffer.pointer, width = blockBuffer.count
        var start = 0
        while start < count {
            let m = min(width, count - start)
            block.update(from: arenas.gradients(of: 0) + lo + start, count: m)
            for r in 1..<shard.ranks {
                let peer = arenas.gradients(of: r) + lo + start
                for i in 0..<m { block[i] += peer[i] }
            }
            (out + start).update(from: block, count: m)
            start += m
        }
    }
}
