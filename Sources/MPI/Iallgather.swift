import CMPI

extension Communicator {
    /// Starts gathering every rank's `send` (the same count everywhere) into `result` on every
    /// rank, in rank order (`MPI_Iallgather`); `result` holds `size` blocks.
    public func iallgather<T: MPIScalar>(_ send: UnsafeBufferPointer<T>,
                                         into result: UnsafeMutableBufferPointer<T>) throws -> Request {
        guard result.count == send.count * size else {
            throw MPIError(code: MPI_ERR_COUNT, message: "the result buffer must hold \(send.count * size) "
                           + "elements, it holds \(result.count)", call: "MPI_Iallgather")
        }
        let count = try mpiCount(send.count, "MPI_Iallgather")
        var request: MPI_Request? = nil
        try check(MPI_Iallgather(send.mpiAddress, count, T.mpiDatatype, result.mpiAddress, count, T.mpiDatatype,
                                 handle, &request), "MPI_Iallgather")
        return Request(handle: request, call: "MPI_Iallgather", kind: .collective)
    }

    /// Starts an in-place allgather: `buffer` holds `size` equal blocks, this rank's own block
    /// (block `rank`) already filled; on completion every block holds its rank's data. This is
    /// the second half of a sharded optimizer step: each rank updates its shard of the parameters,
    /// then all shards are shared. `buffer.count` must be a multiple of the world size.
    public func iallgather<T: MPIScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws -> Request {
        guard buffer.count % size == 0 else {
            throw MPIError(code: MPI_ERR_COUNT, message: "\(buffer.count) elements do not split into \(size) equal "
                           + "blocks", call: "MPI_Iallgather")
        }
        let count = try mpiCount(buffer.count / size, "MPI_Iallgather")
        var request: MPI_Request? = nil
        try check(MPI_Iallgather(UnsafeRawPointer(mpivae_in_place()), 0, T.mpiDatatype, buffer.mpiAddress, count,
                                 T.mpiDatatype, handle, &request), "MPI_Iallgather")
        return Request(handle: request, call: "MPI_Iallgather", kind: .collective)
    }
}
