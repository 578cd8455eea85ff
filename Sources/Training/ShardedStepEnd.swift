/// The end of a step under the sharded optimizer, after the backward pass: sum the gradients,
/// update this rank's slice of the parameters, and give every rank the whole updated arena.
/// `ShardedUpdate` does it with collectives, `NodeSharedUpdate` in memory a host's ranks share.
protocol ShardedStepEnd: AnyObject {
    /// `arena`: this rank's gradients followed by its loss tail. Afterwards the tail holds the
    /// sums over all ranks and every rank's parameters are updated (unless the step is not
    /// finite). Returns whether it was, and the seconds spent communicating (Adam excluded).
    func run(arena: UnsafeMutableBufferPointer<Float>, globalRows: Int, clipNorm: Float) throws -> (finite: Bool, seconds: Double)
}
