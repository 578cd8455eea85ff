import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Test hosts made by `Cluster/netns-hosts.sh`: network namespaces on this machine, each its own
/// node to Open MPI, joined by a bridge. The run belongs to this test process: `down()` removes
/// it, and the script's reaper removes it too if this process dies first.
public final class NetnsHosts {
    public let run: String
    public let hosts: [String]

    /// The script in this checkout (Tests/TestSupport/ -> Cluster/).
    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Cluster/netns-hosts.sh").path

    /// Why hosts cannot be made here, or nil when they can: not root, or no network namespaces.
    public static func unavailableReason() -> String? {
        guard geteuid() == 0 else { return "multi-host tests need root for network namespaces; skipped" }
        guard let probe = try? ProcessRunner.run(script, ["up", "1", "--owner", "\(getpid())"], environment: Launcher.launchEnvironment(), timeout: 30),
              probe.exitCode == 0 else { return "cannot make network namespaces here (netns-hosts.sh up failed); multi-host tests skipped" }
        let run = probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? ProcessRunner.run(script, ["down", run], environment: Launcher.launchEnvironment(), timeout: 30) }
        // A host must also get its own hostname and mounts (UTS and mount namespaces).
        let named = try? ProcessRunner.run(script, ["exec", run, "\(run)-h1", "hostname"], environment: Launcher.launchEnvironment(), timeout: 30)
        guard named?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(run)-h1" else {
            return "cannot give a network namespace its own hostname and mounts here (unshare --uts --mount failed); multi-host tests skipped"
        }
        return nil
    }

    public init(count: Int, slots: Int = 1, options: [String] = []) throws {
        let result = try ProcessRunner.run(Self.script, ["up", "\(count)", "--slots", "\(slots)", "--owner", "\(getpid())"] + options,
                                           environment: Launcher.launchEnvironment(), timeout: 60)
        guard result.exitCode == 0 else { throw ProcessRunnerError(description: "netns-hosts.sh up \(count): \(result.summary)") }
        let name = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        run = name
        hosts = (1...count).map { "\(name)-h\($0)" }
    }

    deinit { down() }

    public func down() {
        _ = try? script(["down", run])
    }

    @discardableResult
    public func script(_ arguments: [String], timeout: Double = 30) throws -> ProcessResult {
        try ProcessRunner.run(Self.script, arguments, environment: Launcher.launchEnvironment(), timeout: timeout)
    }

    /// `mpirun` inside the first host over every host, for `executable` with `arguments`.
    public func mpirunArguments(ranks: Int, mpirun extra: [String], executable: String, arguments: [String]) throws -> [String] {
        ["mpirun", run, "-np", "\(ranks)", "-x", "OPENBLAS_NUM_THREADS=1"] + extra + [try Launcher.executablePath(executable)] + arguments
    }

    public func mpirun(ranks: Int, mpirun extra: [String] = [], _ executable: String, _ arguments: [String], timeout: Double) throws -> ProcessResult {
        try ProcessRunner.run(Self.script, mpirunArguments(ranks: ranks, mpirun: extra, executable: executable, arguments: arguments),
                              environment: Launcher.launchEnvironment(), timeout: timeout)
    }

    public func start(ranks: Int, mpirun extra: [String] = [], _ executable: String, _ arguments: [String]) throws -> ProcessRunner.Running {
        try ProcessRunner.start(Self.script, mpirunArguments(ranks: ranks, mpirun: extra, executable: executable, arguments: arguments),
                                environment: Launcher.launchEnvironment())
    }

    /// Process ids on `host` whose command name is `name`.
    public func processes(on host: String, named name: String) throws -> [pid_t] {
        let pids = try script(["pids", run, host]).stdout.split(separator: "\n").compactMap { pid_t($0) }
        return pids.filter { pid in
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return comm == name
        }
    }
}
