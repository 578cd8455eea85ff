import CMPI

extension Communicator {
    /// Copies `root`'s buffer into every other rank's buffer. Every rank must pass the same count.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let count = try mpiCount(buffer.count, "MPI_Bcast")
        try bcast(buffer.mpiAddress, count, T.mpiDatatype, root)
    }

    /// Makes every rank's array equal to `root`'s. Only the root's length matters: the count is
    /// broadcast first, so other ranks may pass anything (usually []).
    public func broadcast<T: MPIScalar>(_ array: inout [T], root: Int) throws {
        var count = Int64(array.count)
        try withUnsafeMutablePointer(to: &count) { try bcast($0, 1, Int64.mpiDatatype, root) }
        // Every rank now holds the same count, so a bad one fails everywhere alike.
        let elements = try mpiCount(Int(count), "MPI_Bcast")
        guard elements >= 0 else { throw MPIError(code: MPI_ERR_COUNT, call: "MPI_Bcast") }
        if rank == root {
            try array.withUnsafeBufferPointer { sent in
                // The root's buffer is only read by MPI_Bcast.
                let address = UnsafeMutableRawPointer(mutating: sent.mpiAddress)
                try bcast(address, elements, T.mpiDatatype, root)
            }
        } else {
            array = try [T](unsafeUninitializedCapacity: Int(elements)) { received, initialized in
                try broadcast(UnsafeMutableBufferPointer(rebasing: received[0..<Int(elements)]), root: root)
                initialized = Int(elements)
            }
        }
    }

    /// MPI_Bcast, under the stall watchdog when one is installed.
    private func bcast(_ address: UnsafeMutableRawPointer, _ count: Int32, _ type: MPI_Datatype, _ root: Int) throws {
        try collective("MPI_Bcast", {
            MPI_Bcast(address, count, type, mpiRoot(root), handle)
        }, nonBlocking: {
            MPI_Ibcast(address, count, type, mpiRoot(root), handle, $0)
        })
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
