import Foundation
import TestSupport
import XCTest

/// `Launch/train.sh` as a user runs it, from a checkout whose path has a space in it. The copy
/// here has a `setup.sh` that installs nothing and a `swift` that builds nothing, and its
/// `.build/release/mpivae` is the tool these tests built, so only the script's own logic runs.
final class LaunchScriptTests: EndToEndCase {
    /// A checkout holding this worktree's train.sh; returns the script's path and the PATH to use.
    func checkout() throws -> (script: String, path: String) {
        let root = Tool.temporaryDirectory("check out")
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Launch/train.sh").path
        let fm = FileManager.default
        for dir in ["Launch", ".build/release", "bin"] { try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true) }
        try fm.copyItem(atPath: sources, toPath: root + "/Launch/train.sh")
        try fm.createSymbolicLink(atPath: root + "/.build/release/mpivae", withDestinationPath: try Launcher.executablePath("mpivae"))
        for stub in ["Launch/setup.sh", "bin/swift"] {
            try "#!/bin/sh\nexit 0\n".write(toFile: root + "/" + stub, atomically: true, encoding: .utf8)
            chmod(root + "/" + stub, 0o755)
        }
        return (root + "/Launch/train.sh", root + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    func train(_ args: [String], ranks: String = "1") throws -> ProcessResult {
        let (script, path) = try checkout()
        return try ProcessRunner.run("bash", [script] + args, environment: Launcher.launchEnvironment(["PATH": path, "MPIVAE_RANKS": ranks]),
                                     timeout: 120)
    }

    /// The script's benchmark recipe is a default like mpivae's own: a --config file's settings
    /// must win over it, as they win over mpivae's defaults.
    func testAConfigFileDecidesTheRun() throws {
        let dir = Tool.temporaryDirectory("config run")
        let config = dir + "/my settings.json"
        try """
            {"data": "synthetic:n=1000", "hidden": [48], "latent": 3, "batchSize": 60, "epochs": 1, "maxSteps": 20,
             "evaluateTest": false, "explain": false, "out": "\(dir)/from config"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try train(["--config", config])
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("training synthetic"), result.stdout)
        let saved = try String(contentsOfFile: dir + "/from config/config.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("\"latent\" : 3"), saved)
    }

    /// Arguments with spaces pass through intact, and a failing mpivae fails the script.
    func testArgumentsPassThroughAndFailuresPropagate() throws {
        let out = Tool.temporaryDirectory("script") + "/a run"
        let args = ["--data", "synthetic:n=1000", "--hidden", "48", "--latent", "3", "--batch-size", "60", "--epochs", "1",
                    "--no-eval", "--no-explain", "--out", out]
        let first = try train(args)
        XCTAssertEqual(first.exitCode, 0, first.summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/config.json"))
        let second = try train(args)
        XCTAssertNotEqual(second.exitCode, 0, second.summary)
        XCTAssertTrue(second.stderr.contains("already holds a run"), second.stderr)
    }

    /// MPIVAE_RANKS that is not a rank count is refused in one line before anything starts;
    /// 0 used to become "one rank a slot" in mpirun, the opposite of what it says.
    func testOddRankCountsAreRefusedInOneLine() throws {
        for ranks in ["0", "-1", "abc", "2 3"] {
            let result = try train(["--data", "synthetic:n=1000", "--max-steps", "1", "--no-explain"], ranks: ranks)
            XCTAssertEqual(result.exitCode, 2, "MPIVAE_RANKS=\(ranks): \(result.summary)\n\(result.stdout)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "MPIVAE_RANKS=\(ranks): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("error: MPIVAE_RANKS"), result.stderr)
        }
    }
}
