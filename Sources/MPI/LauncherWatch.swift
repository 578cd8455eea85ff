import CMPI
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether the process that launched this rank (mpirun, or Open MPI's orted on other hosts) is
/// still there. When it dies (`kill -9` of mpirun), its ranks are not told: they keep computing
/// and writing, into a run directory a prompt `--resume` may already use. A rank that finds its
/// launcher gone stops at once, without a word (its stderr went with the launcher) and without
/// writing anything.
public final class LauncherWatch: @unchecked Sendable {
    /// The launcher's process id.
    public let launcher: pid_t
    /// This process's parent when the watch began: a change means the parent died.
    let parent: pid_t
    /// Exit code of a rank that stops because its launcher is gone.
    public static let exitCode: Int32 = 76

    init(launcher: pid_t, parent: pid_t) {
        self.launcher = launcher
        self.parent = parent
    }

    /// The watch for this process, or nil when no MPI launcher started it (a plain command, an
    /// MPI singleton): an interactive run must not stop when its shell goes away.
    ///
    /// Open MPI tells its ranks the local daemon's session directory (PMIX_SERVER_TMPDIR ends in
    /// `pid.<daemon pid>`), which finds mpirun even when a wrapper script sits in between; else
    /// the parent stands for it. Where the parent is the launcher itself, the kernel is also asked
    /// to kill this process when it dies (PR_SET_PDEATHSIG), which stops it even mid-computation.
    /// Read this before MPI_Init: an MPI singleton sets such variables for itself.
    public static func forThisProcess(environment: [String: String] = ProcessInfo.processInfo.environment) -> LauncherWatch? {
        guard environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil else { return nil }
        let parent = getppid()
        var launcher = parent
        if let directory = environment["PMIX_SERVER_TMPDIR"],
           let last = directory.split(separator: "/").last, last.hasPrefix("pid."),
           let daemon = pid_t(last.dropFirst(4)), daemon > 1 {
            launcher = daemon
        }
        let watch = LauncherWatch(launcher: launcher, parent: parent)
        if launcher == parent {
            _ = mpivae_set_parent_death_signal(SIGKILL)
        }
        // The launcher may have died before the line above took effect.
        watch.stopIfGone()
        return watch
    }

    /// True while the launcher runs. A dead launcher that its own parent has not yet reaped
    /// still answers kill(0), but this process has been handed to another parent by then.
    public var isAlive: Bool {
        if getppid() != parent { return false }
        if launcher != parent, kill(launcher, 0) != 0, errno == ESRCH { return false }
        return true
    }

    /// Ends the process at once, unflushed and unfinalized, if the launcher is gone.
    public func stopIfGone() {
        if !isAlive { _exit(LauncherWatch.exitCode) }
    }

    /// The watch `install` set for this process, checked before every write of a run.
    nonisolated(unsafe) public static var current: LauncherWatch?

    /// Stops the process if it was launched and its launcher is gone; call before writing.
    public static func checkBeforeWriting() {
        current?.stopIfGone()
    }
}
