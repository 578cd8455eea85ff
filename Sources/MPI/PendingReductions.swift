import CMPI

/// In-place allreduces started now and finished later (`MPI_Iallreduce`), so a training step can
/// send the gradients it already has while it computes the rest. Requests live in one array
/// sized once: starting, testing and waiting allocate nothing.
///
/// Open MPI moves a non-blocking collective forward only inside MPI calls, so `progress()` must
/// be called now and then (between layers) for the transfer to overlap with the computation.
public final class PendingReductions {
    private let requests: UnsafeMutablePointer<MPI_Request?>
    public let capacity: Int
    /// Requests started since the last `waitAll`.
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        requests = .allocate(capacity: self.capacity)
        requests.initialize(repeating: nil, count: self.capacity)
    }

    deinit { requests.deallocate() }

    /// Starts the in-place sum (or other `op`) of `buffer` over `comm`. The buffer must stay put
    /// and untouched until `waitAll` returns.
    public func start<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp, on comm: Communicator) throws {
        try start(UnsafeMutableRawPointer(buffer.baseAddress!), count: buffer.count, datatype: T.mpiDatatype, op: op.handle, on: comm)
    }

    /// Starts the in-place reduction of `count` elements of `datatype` with `op` (e.g. a
    /// `HalfPrecisionSum`).
    public func start(_ address: UnsafeMutableRawPointer, count elements: Int, datatype: MPI_Datatype, op: MPI_Op,
                      on comm: Communicator) throws {
        precondition(count < capacity, "PendingReductions: more than \(capacity) requests at once")
        let n = try mpiCount(elements, "MPI_Iallreduce")
        try check(MPI_Iallreduce(UnsafeRawPointer(mpivae_in_place()), address, n, datatype, op, comm.handle, requests + count),
                  "MPI_Iallreduce")
        count += 1
    }

    /// Lets MPI move every started reduction forward; true when all have finished. Finished
    /// requests become MPI_REQUEST_NULL, which later tests ignore.
    @discardableResult
    public func progress() throws -> Bool {
        guard count > 0 else { return true }
        var done: Int32 = 0
        try check(MPI_Testall(Int32(count), requests, &done, nil), "MPI_Testall")
        return done != 0
    }

    /// Blocks until every started reduction has finished; then the buffers hold the results.
    public func waitAll() throws {
        guard count > 0 else { return }
        defer { count = 0 }
        // Under the stall watchdog each bucket waits with the deadline every other collective has,
        // so a peer that stops mid-step ends the job with its line instead of hanging here.
        if let watchdog = StallWatchdog.active {
            for i in 0..<count where requests[i] != nil {
                try watchdog.wait(&requests[i], call: "MPI_Iallreduce")
            }
            return
        }
        try check(MPI_Waitall(Int32(count), requests, nil), "MPI_Waitall")
    }
}
