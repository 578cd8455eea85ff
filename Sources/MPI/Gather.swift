import CMPI

extension Communicator {
    /// Concatenates every rank's values, in rank order, at `root`; [] on the other ranks.
    /// Every rank must pass the same number of values (use `gatherv` otherwise).
    public func gather<T: MPIScalar>(_ values: [T], root: Int) throws -> [T] {
        let count = try mpiCount(values.count, "MPI_Gather")
        let type = T.mpiDatatype
        return try values.withUnsafeBufferPointer { sent in
            guard rank == root else {
                try collective("MPI_Gather", {
                    MPI_Gather(sent.mpiAddress, count, type, nil, 0, type, mpiRoot(root), handle)
                }, nonBlocking: {
                    MPI_Igather(sent.mpiAddress, count, type, nil, 0, type, mpiRoot(root), handle, $0)
                })
                return []
            }
            let total = values.count * size
            return try [T](unsafeUninitializedCapacity: total) { received, initialized in
                try collective("MPI_Gather", {
                    MPI_Gather(sent.mpiAddress, count, type, received.mpiAddress, count, type, mpiRoot(root), handle)
                }, nonBlocking: {
                    MPI_Igather(sent.mpiAddress, count, type, received.mpiAddress, count, type, mpiRoot(root), handle, $0)
                })
                initialized = total
            }
        }
    }

    /// Every rank's values at `root`, one array per rank in rank order; [] on the other ranks.
    /// Ranks may pass different counts, including none.
    public func gatherv<T: MPIScalar>(_ values: [T], root: Int) throws -> [[T]] {
        let count = try mpiCount(values.count, "MPI_Gatherv")
        // All ranks learn all counts (not just the root), so all agree on whether they fit.
        let counts = try allgather([count])
        let (displacements, total) = try blockOffsets(counts: counts, "MPI_Gatherv")
        let type = T.mpiDatatype
        return try values.withUnsafeBufferPointer { sent in
            guard rank == root else {
                try collective("MPI_Gatherv", {
                    MPI_Gatherv(sent.mpiAddress, count, type, nil, nil, nil, type, mpiRoot(root), handle)
                }, nonBlocking: {
                    MPI_Igatherv(sent.mpiAddress, count, type, nil, nil, nil, type, mpiRoot(root), handle, $0)
                })
                return []
            }
            let flat = try [T](unsafeUninitializedCapacity: total) { received, initialized in
                try counts.withUnsafeBufferPointer { c in
                    try displacements.withUnsafeBufferPointer { d in
                        try collective("MPI_Gatherv", {
                            MPI_Gatherv(sent.mpiAddress, count, type, received.mpiAddress, c.baseAddress, d.baseAddress,
                                        type, mpiRoot(root), handle)
                        }, nonBlocking: {
                            MPI_Igatherv(sent.mpiAddress, count, type, received.mpiAddress, c.baseAddress, d.baseAddress,
                                         type, mpiRoot(root), handle, $0)
                        })
                    }
                }
                initialized = total
            }
            return splitBlocks(flat, counts: counts, displacements: displacements)
        }
    }

    /// Every rank's values, concatenated in rank order, on every rank.
    /// Every rank must pass the same number of values (use `allgatherv` otherwise).
    public func allgather<T: MPIScalar>(_ values: [T]) throws -> [T] {
        let count = try mpiCount(values.count, "MPI_Allgather")
        let type = T.mpiDatatype
        let total = values.count * size
        return try values.withUnsafeBufferPointer { sent in
            try [T](unsafeUninitializedCapacity: total) { received, initialized in
                try collective("MPI_Allgather", {
                    MPI_Allgather(sent.mpiAddress, count, type, received.mpiAddress, count, type, handle)
                }, nonBlocking: {
                    MPI_Iallgather(sent.mpiAddress, count, type, received.mpiAddress, count, type, handle, $0)
                })
                initialized = total
            }
        }
    }

    /// Every rank's values on every rank, one array per rank in rank order. Counts may differ,
    /// including zero.
    public func allgatherv<T: MPIScalar>(_ values: [T]) throws -> [[T]] {
        let count = try mpiCount(values.count, "MPI_Allgatherv")
        let counts = try allgather([count])
        let (displacements, total) = try blockOffsets(counts: counts, "MPI_Allgatherv")
        let type = T.mpiDatatype
        let flat = try values.withUnsafeBufferPointer { sent in
            try [T](unsafeUninitializedCapacity: total) { received, initialized in
                try counts.withUnsafeBufferPointer { c in
                    try displacements.withUnsafeBufferPointer { d in
                        try collective("MPI_Allgatherv", {
                            MPI_Allgatherv(sent.mpiAddress, count, type, received.mpiAddress, c.baseAddress,
                                           d.baseAddress, type, handle)
                        }, nonBlocking: {
                            MPI_Iallgatherv(sent.mpiAddress, count, type, received.mpiAddress, c.baseAddress,
                                            d.baseAddress, type, handle, $0)
                        })
                    }
                }
                initialized = total
            }
        }
        return splitBlocks(flat, counts: counts, displacements: displacements)
    }

    /// Every rank's string at `root`, in rank order; [] on the other ranks.
    public func gather(string: String, root: Int) throws -> [String] {
        try gatherv(Array(string.utf8), root: root).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every rank's string on every rank, in rank order.
    public func allgather(string: String) throws -> [String] {
        try allgatherv(Array(string.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }
}
