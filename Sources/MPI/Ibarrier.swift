import CMPI

extension Communicator {
    /// Starts a barrier (`MPI_Ibarrier`): the request completes once every rank has started it.
    public func ibarrier() throws -> Request {
        var request: MPI_Request? = nil
        try check(MPI_Ibarrier(handle, &request), "MPI_Ibarrier")
        return Request(handle: request, call: "MPI_Ibarrier", kind: .collective)
    }
}
