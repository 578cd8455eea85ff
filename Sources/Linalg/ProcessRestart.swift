import Foundation

/// Re-executes this program with a changed environment: the one remedy for settings a library
/// or the executable's start-up hook fixes before `main` runs (OpenBLAS's kernel family, the
/// subnormal mode of every thread).
public enum ProcessRestart {
    /// Set on the re-executed process: it must never restart again.
    public static let markerVariable = "MPIVAE_BLAS_REEXEC"

    /// True in a process that is itself the result of a restart.
    public static var restarted: Bool { ProcessInfo.processInfo.environment[markerVariable] != nil }

    /// Call first thing in `main`, before MPI or any thread of ours starts. Sets `changes` in the
    /// environment and execs this program with the same arguments (same PID). Returns without
    /// doing anything when `changes` is empty or this process was already restarted, and
    /// returns with the environment as it was when exec fails (the caller carries on without
    /// the change).
    public static func restart(setting changes: [String: String]) {
        guard !changes.isEmpty, !restarted else { return }
        let env = ProcessInfo.processInfo.environment
        for (key, value) in changes { setenv(key, value, 1) }
        setenv(markerVariable, "1", 1)
        var cArgs: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        cArgs.append(nil)
        // The resolved path, not /proc/self/exe itself: exec names the process after the file it
        // was given, and users look for "mpivae" in ps, top and pkill, not "exe".
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"
        execv(path, &cArgs)
        for key in changes.keys + [markerVariable] {
            if let old = env[key] { setenv(key, old, 1) } else { unsetenv(key) }
        }
        for p in cArgs { free(p) }
    }
}
