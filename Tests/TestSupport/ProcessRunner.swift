import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished (or killed) child process left behind.
public struct ProcessResult {
    /// The exit code, or nil if a signal ended the process.
    public var exitCode: Int32?
    /// The signal that ended the process, if one did.
    public var signal: Int32?
    /// True if the timeout ran out and the process group was killed.
    public var timedOut: Bool
    public var seconds: Double
    public var stdout: String
    public var stderr: String
    /// Processes of the child's group still running after the child itself had ended; they were
    /// killed. A launcher that cleans up after itself leaves none.
    public var strays: [Int32]

    /// For assertion messages: how it ended, and its stderr.
    public var summary: String {
        let ending = timedOut ? "timed out" : exitCode.map { "exit \($0)" } ?? "signal \(signal ?? -1)"
        return "\(ending) after \(String(format: "%.2f", seconds)) s; stderr:\n\(stderr)"
    }
}

public struct ProcessRunnerError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs a command to completion with a deadline. The child leads a new process group, so on
/// timeout the whole tree (mpirun and every rank) is terminated rather than left hanging, and the
/// test fails instead of blocking. Output goes to temporary files, which cannot fill up and stall
/// the child the way an unread pipe can.
public enum ProcessRunner {
    /// A child started by `start`, to be waited for with `wait`.
    public struct Running {
        public let pid: pid_t
        let directory: URL
        let started: DispatchTime
    }

    public static func run(_ command: String, _ arguments: [String], environment: [String: String],
                           timeout: Double) throws -> ProcessResult {
        try wait(start(command, arguments, environment: environment), timeout: timeout)
    }

    public static func start(_ command: String, _ arguments: [String], environment: [String: String]) throws -> Running {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mpivae-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let started = DispatchTime.now()
        let pid = try spawn(command, arguments, environment: environment,
                            stdoutPath: directory.appendingPathComponent("stdout").path,
                            stderrPath: directory.appendingPathComponent("stderr").path)
        return Running(pid: pid, directory: directory, started: started)
    }

    public static func wait(_ child: Running, timeout: Double) throws -> ProcessResult {
        defer { try? FileManager.default.removeItem(at: child.directory) }
        let (status, timedOut) = try waitForExit(child.pid, timeout: timeout)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - child.started.uptimeNanoseconds) / 1e9
        let strays = killStrays(group: child.pid)

        let termination = status & 0x7f
        func read(_ name: String) -> String {
            String(decoding: FileManager.default.contents(atPath: child.directory.appendingPathComponent(name).path) ?? Data(), as: UTF8.self)
        }
        return ProcessResult(exitCode: termination == 0 ? (status >> 8) & 0xff : nil,
                             signal: termination == 0 ? nil : termination,
                             timedOut: timedOut, seconds: seconds,
                             stdout: read("stdout"), stderr: read("stderr"), strays: strays)
    }

    /// Living processes whose parent is `pid` (mpirun's ranks are its children).
    public static func children(of pid: pid_t) -> [pid_t] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private static func spawn(_ command: String, _ arguments: [String], environment: [String: String],
                              stdoutPath: String, stderrPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([command] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        // posix_spawnp: a bare command name ("mpirun") is looked up in PATH.
        let rc = posix_spawnp(&pid, command, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw ProcessRunnerError(description: "cannot run \(command): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Polls for the child's exit. Past the deadline the group gets SIGTERM (mpirun then stops its
    /// ranks itself), and SIGKILL a few seconds later if anything is still there.
    private static func waitForExit(_ pid: pid_t, timeout: Double) throws -> (status: Int32, timedOut: Bool) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        var killAt: UInt64?
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return (status, killAt != nil) }
            if reaped == -1 && errno != EINTR {
                throw ProcessRunnerError(description: "waitpid(\(pid)): \(String(cString: strerror(errno)))")
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if now > deadline {
                if let killTime = killAt {
                    if now > killTime { killpg(pid, SIGKILL) }
                } else {
                    killpg(pid, SIGTERM)
                    killAt = now + 3_000_000_000
                }
            }
            usleep(10_000)
        }
    }

    /// Members of the child's process group (which the child led) that are still alive shortly
    /// after it ended: given up to two seconds to finish dying, then killed and returned.
    /// Dead but unreaped members (zombies) are not counted: when mpirun exits right after killing
    /// its ranks they pass to PID 1, which reaps them.
    private static func killStrays(group: pid_t) -> [Int32] {
        var alive = livingMembers(of: group)
        let giveUp = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
        while !alive.isEmpty && DispatchTime.now().uptimeNanoseconds < giveUp {
            usleep(20_000)
            alive = livingMembers(of: group)
        }
        if !alive.isEmpty { killpg(group, SIGKILL) }
        return alive
    }

    private static func livingMembers(of group: pid_t) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let nameEnd = stat.lastIndex(of: ")") else { return nil }
            // After "pid (name) ": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
            guard fields.count > 2, let processGroup = Int32(fields[2]) else { return nil }
            return processGroup == group && fields[0] != "Z" && fields[0] != "X" ? pid : nil
        }
    }
}
