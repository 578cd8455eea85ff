import CMPI

// MPI counts, displacements and ranks are C ints; these turn Swift's Ints into them, throwing
// rather than truncating when a value does not fit.

/// An element count as MPI's Int32, or MPI_ERR_COUNT naming the count when it does not fit.
@inline(__always)
func mpiCount(_ count: Int, _ call: StaticString) throws -> Int32 {
    guard let narrow = Int32(exactly: count) else {
        throw MPIError(code: MPI_ERR_COUNT,
                       message: MPIError.errorString(MPI_ERR_COUNT)
                           + " (\(count) elements; an MPI count holds at most \(Int32.max))",
                       call: "\(call)")
    }
    return narrow
}

/// A root rank as MPI's Int32. One that does not fit becomes -1, which MPI itself rejects with
/// MPI_ERR_ROOT on every rank alike, like any other out-of-range root.
@inline(__always)
func mpiRoot(_ root: Int) -> Int32 {
    Int32(exactly: root) ?? -1
}

/// Offsets of each rank's block in the concatenation of blocks of the given sizes. Every rank
/// knows all counts when this runs, so a total too large for MPI fails on every rank alike
/// instead of leaving some ranks waiting in the collective.
func blockOffsets(counts: [Int32], _ call: StaticString) throws -> (displacements: [Int32], total: Int) {
    var displacements = [Int32]()
    displacements.reserveCapacity(counts.count)
    var total = 0
    for count in counts {
        displacements.append(try mpiCount(total, call))
        total += Int(count)
    }
    _ = try mpiCount(total, call)
    return (displacements, total)
}

/// Cuts a concatenated receive buffer back into one array per rank.
func splitBlocks<T>(_ flat: [T], counts: [Int32], displacements: [Int32]) -> [[T]] {
    zip(counts, displacements).map { count, start in
        Array(flat[Int(start)..<Int(start) + Int(count)])
    }
}

/// A valid address for zero-element transfers: a buffer's baseAddress may be nil when it is
/// empty, and MPI's argument checks reject null buffers. Never read or written.
let emptyTransferAddress = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)

extension UnsafeMutableBufferPointer {
    @inline(__always)
    var mpiAddress: UnsafeMutableRawPointer {
        baseAddress.map { UnsafeMutableRawPointer($0) } ?? emptyTransferAddress
    }
}

extension UnsafeBufferPointer {
    @inline(__always)
    var mpiAddress: UnsafeRawPointer {
        baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyTransferAddress)
    }
}
