import CMPI

extension Communicator {
    /// Replaces every element with its reduction over all ranks, in place: one
    /// `MPI_Allreduce(MPI_IN_PLACE, ...)` and no allocation, so it can sit in a training step.
    /// Every rank must pass the same count.
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        let count = try mpiCount(buffer.count, "MPI_Allreduce")
        let inPlace = UnsafeRawPointer(mpivae_in_place())
        try collective("MPI_Allreduce", {
            MPI_Allreduce(inPlace, buffer.mpiAddress, count, T.mpiDatatype, op.handle, handle)
        }, nonBlocking: {
            MPI_Iallreduce(inPlace, buffer.mpiAddress, count, T.mpiDatatype, op.handle, handle, $0)
        })
    }

    /// Array form of the in-place allreduce.
    public func allreduce<T: MPIScalar>(_ array: inout [T], op: ReduceOp) throws {
        try array.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// The reduction of one value over all ranks.
    public func allreduce<T: MPIScalar>(_ value: T, op: ReduceOp) throws -> T {
        var result = value
        try withUnsafeMutablePointer(to: &result) {
            try allreduce(UnsafeMutableBufferPointer(start: $0, count: 1), op: op)
        }
        return result
    }
}
