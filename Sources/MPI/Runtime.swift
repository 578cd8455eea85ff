import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide MPI state: initialization once, finalization at exit, and facts about the library.
///
/// MPI is initialized with `MPI_THREAD_FUNNELED`: only the thread that initialized MPI (the main
/// thread) may make MPI calls, while other threads (OpenBLAS's, for instance) may exist.
/// Without `mpirun` the process is a world of one rank (an MPI "singleton").
public enum MPIRuntime {
    /// The thread support level MPI granted, in increasing order of what it allows.
    public enum ThreadLevel: Int, Comparable, CustomStringConvertible {
        case single, funneled, serialized, multiple

        public static func < (a: ThreadLevel, b: ThreadLevel) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .single: return "single"
            case .funneled: return "funneled"
            case .serialized: return "serialized"
            case .multiple: return "multiple"
            }
        }

        init(mpiLevel: Int32) {
            if mpiLevel >= Int32(MPI_THREAD_MULTIPLE) {
                self = .multiple
            } else if mpiLevel >= Int32(MPI_THREAD_SERIALIZED) {
                self = .serialized
            } else if mpiLevel >= Int32(MPI_THREAD_FUNNELED) {
                self = .funneled
            } else {
                self = .single
            }
        }
    }

    /// Set by `abort` so the exit hook leaves MPI alone while MPI_Abort tears the job down.
    static var isAborting = false
    private static var exitHookInstalled = false

    /// Initializes MPI unless it already is; idempotent. Sets `MPI_ERRORS_RETURN` on
    /// `MPI_COMM_WORLD` and `MPI_COMM_SELF` and arranges for finalization at process exit.
    /// Throws if MPI was already finalized (MPI cannot be initialized twice) or if init fails.
    public static func initialize() throws {
        if isFinalized {
            throw MPIError(code: MPI_ERR_OTHER,
                           message: "MPI was already finalized in this process and cannot be initialized again",
                           call: "MPI_Init_thread")
        }
        if !mpiInitialized() {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
            installExitHook()
        }
        try check(MPI_Comm_set_errhandler(mpivae_comm_world(), mpivae_errors_return()), "MPI_Comm_set_errhandler")
        try check(MPI_Comm_set_errhandler(mpivae_comm_self(), mpivae_errors_return()), "MPI_Comm_set_errhandler")
    }

    /// Finalizes MPI if it is initialized and not yet finalized; otherwise does nothing.
    /// Every rank must call it (it synchronizes with the others), which is why the exit hook
    /// only calls it on a successful exit; see `installExitHook`.
    ///
    /// With a stall watchdog installed, the ranks first agree that every one of them is done
    /// (under its deadline), so a rank that finished early does not wait in MPI_Finalize forever.
    public static func finalize() {
        guard mpiInitialized(), !isFinalized else { return }
        if let watchdog = StallWatchdog.active {
            do {
                try watchdog.agreeDone()
            } catch {
                fputs("error: the ranks could not agree that they are done: \(oneLine("\(error)"))\n", stderr)
                isAborting = true
                _ = MPI_Abort(mpivae_comm_world(), StallWatchdog.exitCode)
                exit(StallWatchdog.exitCode)
            }
            StallWatchdog.uninstall()
        }
        _ = MPI_Finalize()
    }

    /// True between initialization and finalization: MPI calls are allowed.
    public static var isInitialized: Bool { mpiInitialized() && !isFinalized }

    /// True once `MPI_Finalize` has run in this process.
    public static var isFinalized: Bool {
        var flag: Int32 = 0
        return MPI_Finalized(&flag) == MPI_SUCCESS && flag != 0
    }

    /// The thread level MPI granted (`MPI_Query_thread`), or nil while MPI is not running.
    public static var threadLevel: ThreadLevel? {
        guard isInitialized else { return nil }
        var level: Int32 = 0
        guard MPI_Query_thread(&level) == MPI_SUCCESS else { return nil }
        return ThreadLevel(mpiLevel: level)
    }

    /// `MPI_Get_library_version`, on one line, e.g. "Open MPI v4.1.4, package: ...". Needs no init.
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == MPI_SUCCESS else { return "unknown MPI library" }
        let bytes = buffer.prefix(max(0, Int(length))).map { UInt8(bitPattern: $0) }
        return oneLine(String(decoding: bytes, as: UTF8.self))
    }

    /// The MPI standard version the library implements, e.g. (3, 1). Needs no init.
    public static var standardVersion: (major: Int, minor: Int) {
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = MPI_Get_version(&major, &minor)
        return (Int(major), Int(minor))
    }

    /// `MPI_Get_processor_name` while MPI is up; the host name otherwise.
    public static var processorName: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_PROCESSOR_NAME) + 1)
        if isInitialized {
            var length: Int32 = 0
            if MPI_Get_processor_name(&buffer, &length) == MPI_SUCCESS, length > 0 {
                return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(cString: buffer)
    }

    /// Seconds on MPI's wall clock (`MPI_Wtime`); only differences are meaningful.
    public static func wallTime() -> Double { MPI_Wtime() }

    private static func mpiInitialized() -> Bool {
        var flag: Int32 = 0
        return MPI_Initialized(&flag) == MPI_SUCCESS && flag != 0
    }

    /// Finalizes at exit, but only when that cannot hang: `MPI_Finalize` waits for every rank to
    /// reach it, so a rank exiting with an error while the others sit in a collective would wait
    /// forever. Leaving without finalizing instead lets mpirun see a rank die with a non-zero code
    /// and end the whole job within about a second. A world of one has nobody to wait for.
    private static func installExitHook() {
        guard !exitHookInstalled else { return }
        exitHookInstalled = true
        #if canImport(Glibc)
        // on_exit (glibc) hands the hook the exit status, which atexit does not.
        _ = on_exit({ status, _ in MPIRuntime.finishAtExit(status: status) }, nil)
        #else
        _ = atexit { MPIRuntime.finishAtExit(status: 0) }
        #endif
    }

    static func finishAtExit(status: Int32) {
        guard !isAborting, isInitialized else { return }
        var size: Int32 = 1
        _ = MPI_Comm_size(mpivae_comm_world(), &size)
        if status == 0 || size == 1 {
            finalize()
        }
    }
}
