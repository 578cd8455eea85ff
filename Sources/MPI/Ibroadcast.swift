import CMPI

extension Communicator {
    /// Starts copying `root`'s buffer into every other rank's buffer (`MPI_Ibcast`). Every rank
    /// must pass the same count; the root must not change its buffer until the request completes.
    public func ibroadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws -> Request {
        let count = try mpiCount(buffer.count, "MPI_Ibcast")
        var request: MPI_Request? = nil
        try check(MPI_Ibcast(buffer.mpiAddress, count, T.mpiDatatype, mpiRoot(root), handle, &request), "MPI_Ibcast")
        return Request(handle: request, call: "MPI_Ibcast", kind: .collective)
    }
}
