import CMPI

extension Communicator {
    /// Starts gathering every rank's `send` (the same count on every rank) into `result` at
    /// `root`, in rank order (`MPI_Igather`). `result` must hold `size` blocks at the root and is
    /// ignored elsewhere (pass nil).
    public func igather<T: MPIScalar>(_ send: UnsafeBufferPointer<T>, into result: UnsafeMutableBufferPointer<T>?,
                                      root: Int) throws -> Request {
        let count = try mpiCount(send.count, "MPI_Igather")
        let type = T.mpiDatatype
        var request: MPI_Request? = nil
        if rank == root {
            guard let result, result.count == send.count * size else {
                throw MPIError(code: MPI_ERR_COUNT, message: "the root's result buffer must hold \(send.count * size) "
                               + "elements, it holds \(result?.count ?? 0)", call: "MPI_Igather")
            }
            try check(MPI_Igather(send.mpiAddress, count, type, result.mpiAddress, count, type, mpiRoot(root),
                                  handle, &request), "MPI_Igather")
        } else {
            try check(MPI_Igather(send.mpiAddress, count, type, nil, 0, type, mpiRoot(root), handle, &request),
                      "MPI_Igather")
        }
        return Request(handle: request, call: "MPI_Igather", kind: .collective)
    }

    /// Starts gathering blocks of different sizes at `root` (`MPI_Igatherv`): rank r sends
    /// `counts[r]` elements, which land one after the other in `result`. Unlike the blocking
    /// `gatherv`, the counts are the caller's to know (a non-blocking call cannot wait for a count
    /// exchange); every rank passes the same `counts`, and its own `send` must match its entry.
    public func igatherv<T: MPIScalar>(_ send: UnsafeBufferPointer<T>, into result: UnsafeMutableBufferPointer<T>?,
                                       counts: [Int], root: Int) throws -> Request {
        guard counts.count == size, rank < counts.count, counts[rank] == send.count else {
            throw MPIError(code: MPI_ERR_COUNT, message: "counts must give one entry per rank (\(size)) and this "
                           + "rank's entry must be its send count (\(send.count))", call: "MPI_Igatherv")
        }
        let narrow = try counts.map { try mpiCount($0, "MPI_Igatherv") }
        let (displacements, total) = try blockOffsets(counts: narrow, "MPI_Igatherv")
        let type = T.mpiDatatype
        var request: MPI_Request? = nil
        guard rank == root else {
            try check(MPI_Igatherv(send.mpiAddress, narrow[rank], type, nil, nil, nil, type, mpiRoot(root), handle,
                                   &request), "MPI_Igatherv")
            return Request(handle: request, call: "MPI_Igatherv", kind: .collective)
        }
        guard let result, result.count == total else {
            throw MPIError(code: MPI_ERR_COUNT, message: "the root's result buffer must hold \(total) elements, "
                           + "it holds \(result?.count ?? 0)", call: "MPI_Igatherv")
        }
        let owned = OwnedCounts(counts: narrow, displacements: displacements)
        try check(MPI_Igatherv(send.mpiAddress, narrow[rank], type, result.mpiAddress, owned.counts,
                               owned.displacements, type, mpiRoot(root), handle, &request), "MPI_Igatherv")
        return Request(handle: request, call: "MPI_Igatherv", kind: .collective, owning: owned)
    }
}
