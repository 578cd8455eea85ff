import Foundation
import Linalg
import MPI
import VAE

/// The end of a training step under `--shard-optimizer`, in place of the one allreduce and the
/// full Adam pass: the gradient arena is reduce-scattered so each rank receives the summed
/// gradients of its own slice only, one small allreduce sums the loss tail together with the
/// slices' squared norms (so every rank decides alike whether the step is finite and how much to
/// clip), each rank runs Adam on its slice with the moments only it holds, and the updated
/// parameters are all-gathered. Per rank that moves the same bytes as a ring allreduce, does 1/p
/// of Adam's work, and holds 1/p of its moments.
///
/// Every element of a slice is summed over the same ranks as by the allreduce, so on two ranks
/// (a + b either way round) the parameters are bit for bit the unsharded ones; on more ranks the
/// collectives may add in another order. The loss sums are added in double rather than float,
/// which changes only the reported figures, in their last bits.
final class ShardedUpdate: ShardedStepEnd {
    let shard: OptimizerShard
    let comm: Communicator
    let optimizer: Adam
    let parameters: UnsafeMutableBufferPointer<Float>
    /// This rank's slice of the summed gradients.
    let received: FloatBuffer
    /// The loss tail, then the slice's sum of squared gradients: one allreduce.
    let sums: UnsafeMutableBufferPointer<Double>
    let tailCount: Int

    init(shard: OptimizerShard, optimizer: Adam, parameters: UnsafeMutableBufferPointer<Float>, tailCount: Int, comm: Communicator) {
        precondition(optimizer.count == shard.range.count, "ShardedUpdate: Adam holds \(optimizer.count) moments, the shard \(shard.range.count)")
        precondition(shard.ranks == comm.size, "ShardedUpdate: a shard of \(shard.ranks) ranks on \(comm.size)")
        self.shard = shard
        self.comm = comm
        self.optimizer = optimizer
        self.parameters = parameters
        self.tailCount = tailCount
        received = FloatBuffer(count: shard.range.count)
        sums = .allocate(capacity: tailCount + 1)
        sums.initialize(repeating: 0)
    }

    deinit { sums.deallocate() }

    /// `arena`: this rank's gradients (`shard.total`) followed by its `tailCount` loss values.
    /// Afterwards the tail holds the sums over all ranks and the parameters are updated on every
    /// rank (unless the step is not finite). Returns whether it was, and the seconds spent in
    /// communication (Adam excluded).
    func run(arena: UnsafeMutableBufferPointer<Float>, globalRows: Int, clipNorm: Float) throws -> (finite: Bool, seconds: Double) {
        let total = shard.total
        let t0 = Clock.now()
        try shard.counts.withUnsafeBufferPointer { counts in
            try comm.reduceScatter(UnsafeBufferPointer(rebasing: arena[0..<total]), into: received.buffer, counts: counts, op: .sum)
        }
        for i in 0..<tailCount { sums[i] = Double(arena[total + i]) }
        sums[tailCount] = received.count > 0 ? Reductions.sumOfSquaresPrecise(received.pointer, count: received.count) : 0
        try comm.allreduce(sums, op: .sum)
        var seconds = Clock.now() - t0
        for i in 0..<tailCount { arena[total + i] = Float(sums[i]) }

        // Every rank holds the same sums, so every rank skips alike and no collective is left open.
        guard let scale = ShardedStepScale.decide(squares: sums[tailCount], tailFinite: (0..<tailCount).allSatisfy { sums[$0].isFinite },
                                                  globalRows: globalRows, clipNorm: clipNorm) else { return (false, seconds) }
        let range = shard.range
        optimizer.update(parameters: UnsafeMutableBufferPointer(rebasing: parameters[range]), gradients: received.buffer,
                         gradScale: scale)
        let t1 = Clock.now()
        try shard.counts.withUnsafeBufferPointer { counts in
            try shard.displacements.withUnsafeBufferPointer { displacements in
                try comm.allgatherSlices(UnsafeMutableBufferPointer(rebasing: parameters[0..<total]), counts: counts,
                                         displacements: displacements)
            }
        }
        seconds += Clock.now() - t1
        return (true, seconds)
    }
}
