/// The end of a step under the sharded optimizer, after the backward pass: sum the gradients,
/// update this rank's slice of the parameters, and give every rank the whole updated arena.
/// `ShardedUpdate` does it with collectives, `NodeSharedUpdate` in memory a host's ranks share.
protocol ShardedStepEnd: AnyObject {
    /// `arena`: this rank's gradients followed by its loss tail. Afterwards the tail holds the
    /// sums over all ranks and every rank's parameters are updated (unless the step is not
    /// finite). Returns whether it was, and the seconds spent communicating (Adam excluded).
    func run(arena: UnsafeMutableBufferPointer<Float>, globalRows: Int, clipNorm: Float) throws -> (finite: Bool, seconds: Double)
}

/// What every rank decides alike from the step's summed statistics: whether it is finite, and the
/// factor Adam applies to the summed gradients (1 / global batch, times any clipping).
enum ShardedStepScale {
    /// Nil when the step is not finite. A non-finite gradient anywhere makes the global sum of
    /// squares non-finite, so that one figure stands for the unsharded step's scan of the arena.
    static func decide(squares: Double, tailFinite: Bool, globalRows: Int, clipNorm: Float) -> Float? {
        guard squares.isFinite, tailFinite else { return nil }
        var scale = 1 / Float(max(globalRows, 1))
        if clipNorm > 0 {
            let norm = Float(squares.squareRoot()) * scale
            guard norm.isFinite else { return nil }
            if norm > clipNorm { scale *= clipNorm / (norm + 1e-6) }
        }
        return scale
    }
}
