import CMPI

extension Communicator {
    /// Copies `root`'s buffer into every other rank's buffer. Every rank must pass the same count.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let count = try mpiCount(buffer.count, "MPI_Bcast")
        try check(MPI_Bcast(buffer.mpiAddress, count, T.mpiDatatype, mpiRoot(root), handle), "MPI_Bcast")
    }

    /// Makes every rank's array equal to `root`'s. Only the root's length matters: the count is
    /// broadcast first, so other ranks may pass anything (usually []).
    public func broadcast<T: MPIScalar>(_ array: inout [T], root: Int) throws {
        var count = Int64(array.count)
        try check(MPI_Bcast(&count, 1, Int64.mpiDatatype, mpiRoot(root), handle), "MPI_Bcast")
        // Every rank now holds the same count, so a bad one fails everywhere alike.
        let elements = try mpiCount(Int(count), "MPI_Bcast")
        guard elements >= 0 else { throw MPIError(code: MPI_ERR_COUNT, call: "MPI_Bcast") }
        if rank == root {
            try array.withUnsafeBufferPointer { sent in
                // The root's buffer is only read by MPI_Bcast.
                let address = UnsafeMutableRawPointer(mutating: sent.mpiAddress)
                try check(MPI_Bcast(address, elements, T.mpiDatatype, mpiRoot(root), handle), "MPI_Bcast")
            }
        } else {
            array = try [T](unsafeUninitializedCapacity: Int(elements)) { received, initialized in
                try broadcast(UnsafeMutableBufferPointer(rebasing: received[0..<Int(elements)]), root: root)
                initialized = Int(elements)
            }
        }
    }

    /// `root`'s bytes, on every rank; other ranks pass [].
    public func broadcast(bytes: [UInt8], root: Int) throws -> [UInt8] {
        var result = bytes
        try broadcast(&result, root: root)
        return result
    }

    /// `root`'s string, on every rank; other ranks pass "". Sent as UTF-8.
    public func broadcast(string: String, root: Int) throws -> String {
        let received = try broadcast(bytes: Array(string.utf8), root: root)
        return rank == root ? string : String(decoding: received, as: UTF8.self)
    }
}
