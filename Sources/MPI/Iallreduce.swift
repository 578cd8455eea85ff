import CMPI

extension Communicator {
    /// Starts an in-place allreduce (`MPI_Iallreduce(MPI_IN_PLACE, ...)`): when the request
    /// completes, every element holds its reduction over all ranks. No allocation, so it can sit
    /// in a training step (a gradient bucket, for instance). Every rank must start the same
    /// collectives in the same order with the same count.
    public func iallreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws -> Request {
        let count = try mpiCount(buffer.count, "MPI_Iallreduce")
        var request: MPI_Request? = nil
        try check(MPI_Iallreduce(UnsafeRawPointer(mpivae_in_place()), buffer.mpiAddress, count,
                                 T.mpiDatatype, op.handle, handle, &request), "MPI_Iallreduce")
        return Request(handle: request, call: "MPI_Iallreduce", kind: .collective)
    }

    /// Starts an allreduce of `send` into `result` (same count), leaving `send` as it is.
    public func iallreduce<T: MPIScalar>(_ send: UnsafeBufferPointer<T>, into result: UnsafeMutableBufferPointer<T>,
                                         op: ReduceOp) throws -> Request {
        guard send.count == result.count else {
            throw MPIError(code: MPI_ERR_COUNT, message: "send and result buffers differ in length "
                           + "(\(send.count) and \(result.count) elements)", call: "MPI_Iallreduce")
        }
        let count = try mpiCount(send.count, "MPI_Iallreduce")
        var request: MPI_Request? = nil
        try check(MPI_Iallreduce(send.mpiAddress, result.mpiAddress, count, T.mpiDatatype, op.handle,
                                 handle, &request), "MPI_Iallreduce")
        return Request(handle: request, call: "MPI_Iallreduce", kind: .collective)
    }
}
