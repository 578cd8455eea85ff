import CMPI

/// The collectives of a sharded optimizer over one contiguous arena cut into per-rank slices of
/// possibly unequal length (`counts[r]` elements from `displacements[r]`). Unequal slices let the
/// arena keep its size: the last rank's shard is simply shorter, instead of the arena padded to a
/// multiple of the world size. Counts and displacements are the caller's, sized once, so a step
/// calling these allocates nothing.
extension Communicator {
    /// Sums (or reduces with `op`) `send` over all ranks and leaves in `result` this rank's
    /// slice, `counts[rank]` elements from `displacements[rank]` of the reduced arena
    /// (`MPI_Reduce_scatter`). The slices must tile `send` in rank order.
    public func reduceScatter<T: MPIScalar>(_ send: UnsafeBufferPointer<T>, into result: UnsafeMutableBufferPointer<T>,
                                            counts: UnsafeBufferPointer<Int32>, op: ReduceOp) throws {
        guard counts.count == size, Int(counts[rank]) <= result.count,
              counts.reduce(0, { $0 + Int($1) }) == send.count else {
            throw MPIError(code: MPI_ERR_COUNT, message: "the \(counts.count) slice counts must add up to the \(send.count) "
                           + "elements sent, one per rank of \(size), this rank's fitting its \(result.count)-element result",
                           call: "MPI_Reduce_scatter")
        }
        let c = counts.baseAddress!
        try collective("MPI_Reduce_scatter", {
            MPI_Reduce_scatter(send.mpiAddress, result.mpiAddress, c, T.mpiDatatype, op.handle, handle)
        }, nonBlocking: {
            MPI_Ireduce_scatter(send.mpiAddress, result.mpiAddress, c, T.mpiDatatype, op.handle, handle, $0)
        })
    }

    /// Every rank's slice of `buffer` (`counts[r]` elements from `displacements[r]`, this rank's
    /// already filled) copied into everyone's `buffer` (`MPI_Allgatherv` in place).
    public func allgatherSlices<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, counts: UnsafeBufferPointer<Int32>,
                                              displacements: UnsafeBufferPointer<Int32>) throws {
        guard counts.count == size, displacements.count == size,
              (0..<size).allSatisfy({ Int(displacements[$0]) + Int(counts[$0]) <= buffer.count }) else {
            throw MPIError(code: MPI_ERR_COUNT, message: "\(size) slices must lie within the \(buffer.count)-element buffer",
                           call: "MPI_Allgatherv")
        }
        let c = counts.baseAddress!, d = displacements.baseAddress!
        let inPlace = UnsafeRawPointer(mpivae_in_place())
        try collective("MPI_Allgatherv", {
            MPI_Allgatherv(inPlace, 0, T.mpiDatatype, buffer.mpiAddress, c, d, T.mpiDatatype, handle)
        }, nonBlocking: {
            MPI_Iallgatherv(inPlace, 0, T.mpiDatatype, buffer.mpiAddress, c, d, T.mpiDatatype, handle, $0)
        })
    }

    /// Every rank's `slice` (`counts[r]` elements each) placed at `displacements[r]` of `whole`
    /// on `root` (`MPI_Gatherv`); `whole` is read only on the root.
    public func gatherSlices<T: MPIScalar>(_ slice: UnsafeBufferPointer<T>, into whole: UnsafeMutableBufferPointer<T>,
                                           counts: UnsafeBufferPointer<Int32>, displacements: UnsafeBufferPointer<Int32>,
                                           root: Int) throws {
        let n = try mpiCount(slice.count, "MPI_Gatherv")
        let c = counts.baseAddress!, d = displacements.baseAddress!
        try collective("MPI_Gatherv", {
            MPI_Gatherv(slice.mpiAddress, n, T.mpiDatatype, whole.mpiAddress, c, d, T.mpiDatatype, mpiRoot(root), handle)
        }, nonBlocking: {
            MPI_Igatherv(slice.mpiAddress, n, T.mpiDatatype, whole.mpiAddress, c, d, T.mpiDatatype, mpiRoot(root), handle, $0)
        })
    }

    /// The inverse of `gatherSlices`: `root`'s `whole` cut into the slices, each rank receiving
    /// its own into `slice` (`MPI_Scatterv`).
    public func scatterSlices<T: MPIScalar>(_ whole: UnsafeBufferPointer<T>, into slice: UnsafeMutableBufferPointer<T>,
                                            counts: UnsafeBufferPointer<Int32>, displacements: UnsafeBufferPointer<Int32>,
                                            root: Int) throws {
        let n = try mpiCount(slice.count, "MPI_Scatterv")
        let c = counts.baseAddress!, d = displacements.baseAddress!
        try collective("MPI_Scatterv", {
            MPI_Scatterv(whole.mpiAddress, c, d, T.mpiDatatype, slice.mpiAddress, n, T.mpiDatatype, mpiRoot(root), handle)
        }, nonBlocking: {
            MPI_Iscatterv(whole.mpiAddress, c, d, T.mpiDatatype, slice.mpiAddress, n, T.mpiDatatype, mpiRoot(root), handle, $0)
        })
    }
}
