import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A group of ranks that communicate: `world`, or one made from it by `dup` or `split`.
///
/// Every communicator runs with `MPI_ERRORS_RETURN`, so a failing call throws `MPIError` instead of
/// killing the job. Collective calls must be made by every rank of the communicator, in the same
/// order, from the thread that initialized MPI.
public final class Communicator {
    /// The underlying handle, for calling MPI directly.
    public let handle: MPI_Comm
    /// This process's rank in the communicator, in 0..<size.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    /// Communicators made by dup/split are freed when released; world belongs to MPI.
    private let ownsHandle: Bool

    /// `MPI_COMM_WORLD`. The first use initializes MPI; if that fails the process prints one
    /// "error:" line and exits 1. Call `MPIRuntime.initialize()` first to handle that error yourself.
    public static let world: Communicator = {
        do {
            try MPIRuntime.initialize()
            return try Communicator(adopting: mpivae_comm_world(), owned: false)
        } catch {
            fputs("error: cannot start MPI: \(error)\n", stderr)
            exit(1)
        }
    }()

    /// The color to pass to `split` to leave a rank out of every new communicator.
    public static let undefinedColor = Int(MPI_UNDEFINED)

    /// Takes over `handle`: sets MPI_ERRORS_RETURN and reads rank and size. An owned handle is
    /// freed here if that fails, so a half-made communicator never leaks.
    init(adopting handle: MPI_Comm, owned: Bool) throws {
        do {
            try check(MPI_Comm_set_errhandler(handle, mpivae_errors_return()), "MPI_Comm_set_errhandler")
            var rank: Int32 = 0
            var size: Int32 = 0
            try check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank")
            try check(MPI_Comm_size(handle, &size), "MPI_Comm_size")
            self.handle = handle
            self.rank = Int(rank)
            self.size = Int(size)
            self.ownsHandle = owned
        } catch {
            if owned {
                var doomed: MPI_Comm? = handle
                _ = MPI_Comm_free(&doomed)
            }
            throw error
        }
    }

    deinit {
        // After MPI_Finalize every handle is gone already, and freeing would be an error.
        if ownsHandle && MPIRuntime.isInitialized {
            var doomed: MPI_Comm? = handle
            _ = MPI_Comm_free(&doomed)
        }
    }

    /// Waits until every rank has called it.
    public func barrier() throws {
        try collective("MPI_Barrier", { MPI_Barrier(handle) }, nonBlocking: { MPI_Ibarrier(handle, $0) })
    }

    /// A new communicator with the same ranks and its own message space (`MPI_Comm_dup`), so a
    /// library's messages cannot mix with the caller's. Collective.
    public func dup() throws -> Communicator {
        var newHandle: MPI_Comm? = nil
        try check(MPI_Comm_dup(handle, &newHandle), "MPI_Comm_dup")
        guard let made = newHandle else {
            throw MPIError(code: MPI_ERR_COMM, call: "MPI_Comm_dup")
        }
        return try Communicator(adopting: made, owned: true)
    }

    /// Splits the ranks by `color` into disjoint communicators, ordered by `key` (ties by rank).
    /// Returns nil on ranks that pass `Communicator.undefinedColor`. Colors must otherwise be
    /// non-negative; MPI rejects the rest with MPI_ERR_ARG. Collective.
    public func split(color: Int, key: Int) throws -> Communicator? {
        // A color beyond Int32 becomes -1, which MPI rejects with its own error.
        let mpiColor = color == Communicator.undefinedColor ? MPI_UNDEFINED : (Int32(exactly: color) ?? -1)
        var newHandle: MPI_Comm? = nil
        try check(MPI_Comm_split(handle, mpiColor, Int32(clamping: key), &newHandle), "MPI_Comm_split")
        guard let made = newHandle, made != mpivae_comm_null() else { return nil }
        return try Communicator(adopting: made, owned: true)
    }

    /// Ends the whole job: writes "error: <message>" as one line to stderr, then `MPI_Abort`s with
    /// `code` (0 becomes 1: an abort is a failure), so mpirun stops every rank and exits non-zero.
    /// Without MPI running it simply exits with the code.
    public func abort(message: String, code: Int32) -> Never {
        let exitCode = code == 0 ? 1 : code
        fflush(stdout)
        fputs("error: \(oneLine(message))\n", stderr)
        fflush(stderr)
        if MPIRuntime.isInitialized {
            MPIRuntime.isAborting = true
            _ = MPI_Abort(handle, exitCode)
        }
        exit(exitCode)
    }
}
