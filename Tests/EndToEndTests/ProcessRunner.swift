import Foundation
import XCTest

/// What a finished (or killed) child process left behind.
struct ProcessOutcome {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
    var timedOut: Bool
    var output: String { stdout + stderr }
}

/// Runs the built tool, alone or under mpirun, with a hard timeout: a hang fails the test instead
/// of blocking the suite, and the whole process group is killed so no rank outlives it.
enum ProcessRunner {
    /// The directory holding the built executables: the test bundle sits beside them.
    static var productsDirectory: URL {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // On Linux the bundle is a single executable `mpivaePackageTests.xctest` in the products dir.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("mpivae").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    static var tool: String { productsDirectory.appendingPathComponent("mpivae").path }

    /// mpirun's own flags: oversubscribe because tests ask for more ranks than this machine's
    /// cores, and root only when we are root (Open MPI refuses root without it).
    static func mpirunPrefix(ranks: Int) -> [String] {
        var args = ["mpirun", "-np", String(ranks), "--oversubscribe"]
        if geteuid() == 0 { args.append("--allow-run-as-root") }
        return args
    }

    static func mpivae(_ args: [String], ranks: Int? = nil, timeout: Double = 120, environment: [String: String] = [:]) -> ProcessOutcome {
        let command = (ranks.map { mpirunPrefix(ranks: $0) } ?? []) + [tool] + args
        return run(command, timeout: timeout, environment: environment)
    }

    static func run(_ command: [String], timeout: Double, environment: [String: String] = [:],
                    onStart: ((Int32) -> Void)? = nil) -> ProcessOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("mpivae-e2e-\(UUID().uuidString).out")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("mpivae-e2e-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        // Files, not pipes: a chatty child can never block on a full pipe while we wait for it.
        guard let out = try? FileHandle(forWritingTo: outFile), let err = try? FileHandle(forWritingTo: errFile) else {
            return ProcessOutcome(status: -1, stdout: "", stderr: "cannot create output files", seconds: 0, timedOut: false)
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        do { try process.run() } catch {
            return ProcessOutcome(status: -1, stdout: "", stderr: "cannot start \(command): \(error)", seconds: 0, timedOut: false)
        }
        onStart?(process.processIdentifier)
        var timedOut = false
        while process.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                killTree(process.processIdentifier)
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        try? out.close(); try? err.close()
        let stdout = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
        return ProcessOutcome(status: process.terminationStatus, stdout: stdout, stderr: stderr,
                              seconds: Date().timeIntervalSince(start), timedOut: timedOut)
    }

    /// Kills a process and every descendant (mpirun's ranks are its children).
    static func killTree(_ pid: Int32) {
        for child in children(of: pid) { killTree(child) }
        kill(pid, SIGKILL)
    }

    static func children(of pid: Int32) -> [Int32] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The mpivae ranks below a launcher process.
    static func ranks(under pid: Int32) -> [Int32] {
        var found: [Int32] = []
        for child in children(of: pid) {
            let comm = (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if comm == "mpivae" { found.append(child) } else { found += ranks(under: child) }
        }
        return found
    }

    static func temporaryDirectory(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mpivae-\(name)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
