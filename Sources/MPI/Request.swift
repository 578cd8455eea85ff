import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An operation MPI is still carrying out (`MPI_Request`), from a non-blocking collective or a
/// point-to-point send or receive.
///
/// Until the request completes, MPI may read or write the buffers given when it started: keep
/// them valid and untouched until `test` returns true or `wait` returns. Buffers the module made
/// itself (counts and displacements, copies) are owned by the request and live as long as MPI
/// may use them.
///
/// Ending early is only partly possible. MPI forbids cancelling or freeing a collective request
/// (MPI 3.1, 5.12), so a collective that never completes is *abandoned*: the request and every
/// buffer it owns stay allocated for the rest of the process, because MPI might still write into
/// them, and the caller must treat its own buffers the same way (in practice: end the job).
/// A point-to-point request can be cancelled. Dropping an unfinished request abandons it.
public final class Request {
    public enum Kind: Sendable { case collective, pointToPoint }

    /// The MPI function that started the operation, named in errors.
    public let call: StaticString
    public let kind: Kind
    var handle: MPI_Request?
    /// Buffers MPI uses until completion; released only then.
    private var owned: AnyObject?
    /// True once MPI has finished the operation (successfully or with an error).
    public private(set) var isComplete = false
    /// True once the request was given up on (`abandon`, or dropped unfinished).
    public private(set) var isAbandoned = false

    init(handle: MPI_Request?, call: StaticString, kind: Kind, owning owned: AnyObject? = nil) {
        self.handle = handle
        self.call = call
        self.kind = kind
        self.owned = owned
        // A request MPI finished on the spot may already be the null request.
        if handle == nil || handle == mpivae_request_null() { isComplete = true; self.owned = nil }
    }

    deinit {
        if !isComplete { abandon() }
    }

    /// Whether the operation is complete (`MPI_Test`), without waiting. Each call also lets MPI
    /// progress the operation, which for Open MPI's non-blocking collectives happens only inside
    /// MPI calls. An error of the operation is thrown once, and the request then counts as complete.
    @discardableResult
    public func test() throws -> Bool {
        if isComplete { return true }
        guard !isAbandoned else { return false }
        var flag: Int32 = 0
        let rc = MPI_Test(&handle, &flag, mpivae_status_ignore())
        if rc != MPI_SUCCESS {
            // MPI has ended the operation with an error; its buffers may have been written in
            // part, but MPI no longer uses them.
            isComplete = true
            owned = nil
            throw MPIError(code: rc, call: "\(call)")
        }
        if flag != 0 {
            isComplete = true
            owned = nil
        }
        return flag != 0
    }

    /// Waits for completion. With a `StallWatchdog` installed, a collective waits under its
    /// deadline (a stall ends the job with its line), polling gently; otherwise inside MPI
    /// (`MPI_Wait`), with no deadline, and Open MPI spins a core while it waits. For a bounded
    /// wait of your own use `wait(until:policy:)`.
    public func wait() throws {
        if isComplete { return }
        guard !isAbandoned else {
            throw MPIError(code: MPI_ERR_REQUEST, message: "the request was abandoned", call: "\(call)")
        }
        if kind == .collective, let watchdog = StallWatchdog.active {
            do {
                try watchdog.wait(&handle, call: call)
            } catch {
                isComplete = true
                owned = nil
                throw error
            }
            isComplete = true
            owned = nil
            return
        }
        let rc = MPI_Wait(&handle, mpivae_status_ignore())
        isComplete = true
        owned = nil
        if rc != MPI_SUCCESS { throw MPIError(code: rc, call: "\(call)") }
    }

    /// Waits until the operation completes or `deadline` (seconds on `MPIRuntime.wallTime()`)
    /// passes, polling with `policy`. Returns false at the deadline; the request then still runs.
    public func wait(until deadline: Double, policy: PollPolicy = PollPolicy()) throws -> Bool {
        var poller = Poller(policy: policy)
        while true {
            if try test() { return true }
            if MPIRuntime.wallTime() >= deadline { return false }
            poller.pause()
        }
    }

    /// Cancels a point-to-point request (`MPI_Cancel`), or throws MPI_ERR_REQUEST for a collective,
    /// which MPI cannot cancel (use `abandon`). A receive that did not match is gone at once; a
    /// send MPI could no longer stop is left to finish on its own, its buffers kept for good.
    public func cancel() throws {
        guard !isComplete, !isAbandoned else { return }
        guard kind == .pointToPoint else {
            throw MPIError(code: MPI_ERR_REQUEST,
                           message: "a non-blocking collective cannot be cancelled (MPI 3.1, 5.12)", call: "\(call)")
        }
        try check(MPI_Cancel(&handle), "MPI_Cancel")
        var flag: Int32 = 0
        if MPI_Test(&handle, &flag, mpivae_status_ignore()) == MPI_SUCCESS, flag != 0 {
            isComplete = true
            owned = nil
            return
        }
        abandon()
    }

    /// Gives up on the request without waiting. A point-to-point request is handed to MPI to free
    /// when it completes (`MPI_Request_free`); a collective is left as it is. Either way the
    /// buffers the request owns are kept for the rest of the process, since MPI may still use them.
    public func abandon() {
        guard !isComplete, !isAbandoned else { return }
        isAbandoned = true
        if kind == .pointToPoint, MPIRuntime.isInitialized {
            _ = MPI_Request_free(&handle)
        }
        if let owned { Request.abandonedBuffers.append(owned) }
        owned = nil
    }

    /// What abandoned requests owned: never released, never read.
    nonisolated(unsafe) private static var abandonedBuffers: [AnyObject] = []
}

/// How a bounded wait polls: `MPI_Test` back to back for `spinSeconds` (so a collective that
/// completes quickly, such as a training step's allreduce, costs no more than a blocking call),
/// then sleeps between tests, from `firstSleepSeconds` doubling up to `maxSleepSeconds`, so a
/// rank waiting for a late peer leaves its core nearly idle. The cost of sleeping is latency: a
/// collective that makes progress only inside MPI_Test advances once per wake-up.
public struct PollPolicy: Sendable {
    public var spinSeconds: Double
    public var firstSleepSeconds: Double
    public var maxSleepSeconds: Double

    public init(spinSeconds: Double = 0.005, firstSleepSeconds: Double = 0.000_05, maxSleepSeconds: Double = 0.002) {
        self.spinSeconds = spinSeconds
        self.firstSleepSeconds = firstSleepSeconds
        self.maxSleepSeconds = maxSleepSeconds
    }
}

/// The pause between two tests of a bounded wait, following a `PollPolicy`.
public struct Poller {
    public let policy: PollPolicy
    private let start: Double
    private var sleep: Double

    public init(policy: PollPolicy) {
        self.policy = policy
        start = MPIRuntime.wallTime()
        sleep = policy.firstSleepSeconds
    }

    /// Seconds since the wait began.
    public var elapsed: Double { MPIRuntime.wallTime() - start }

    /// Returns at once while in the spin window, else sleeps the next backoff interval.
    public mutating func pause() {
        guard elapsed >= policy.spinSeconds else { return }
        var interval = timespec(tv_sec: 0, tv_nsec: Int(sleep * 1e9))
        _ = nanosleep(&interval, nil)
        sleep = min(sleep * 2, policy.maxSleepSeconds)
    }
}
