import CMPI

extension Communicator {
    /// Starts a reduce-scatter of equal blocks (`MPI_Ireduce_scatter_block`): `send` holds `size`
    /// blocks of `result.count` elements; on completion `result` holds the reduction over all
    /// ranks of block `rank`. With `iallgather` this is a sharded allreduce: each rank gets the
    /// reduced gradient of its own shard of the parameters.
    public func ireduceScatterBlock<T: MPIScalar>(_ send: UnsafeBufferPointer<T>,
                                                  into result: UnsafeMutableBufferPointer<T>,
                                                  op: ReduceOp) throws -> Request {
        guard send.count == result.count * size else {
            throw MPIError(code: MPI_ERR_COUNT, message: "the send buffer must hold \(size) blocks of \(result.count) "
                           + "elements (\(result.count * size)), it holds \(send.count)", call: "MPI_Ireduce_scatter_block")
        }
        let count = try mpiCount(result.count, "MPI_Ireduce_scatter_block")
        var request: MPI_Request? = nil
        try check(MPI_Ireduce_scatter_block(send.mpiAddress, result.mpiAddress, count, T.mpiDatatype, op.handle,
                                            handle, &request), "MPI_Ireduce_scatter_block")
        return Request(handle: request, call: "MPI_Ireduce_scatter_block", kind: .collective)
    }

    /// Starts an in-place reduce-scatter: `buffer` holds `size` equal blocks; on completion its
    /// first block holds the reduction over all ranks of block `rank` (the rest is undefined).
    public func ireduceScatterBlock<T: MPIScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>,
                                                  op: ReduceOp) throws -> Request {
        guard buffer.count % size == 0 else {
            throw MPIError(code: MPI_ERR_COUNT, message: "\(buffer.count) elements do not split into \(size) equal "
                           + "blocks", call: "MPI_Ireduce_scatter_block")
        }
        let count = try mpiCount(buffer.count / size, "MPI_Ireduce_scatter_block")
        var request: MPI_Request? = nil
        try check(MPI_Ireduce_scatter_block(UnsafeRawPointer(mpivae_in_place()), buffer.mpiAddress, count,
                                            T.mpiDatatype, op.handle, handle, &request), "MPI_Ireduce_scatter_block")
        return Request(handle: request, call: "MPI_Ireduce_scatter_block", kind: .collective)
    }
}
