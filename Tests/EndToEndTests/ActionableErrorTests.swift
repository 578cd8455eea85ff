import Foundation
import TestSupport
import XCTest

/// Errors a user can act on: each names the flag or key, what it takes and what it got, in one
/// line, where these used to be a parser's or Foundation's words about something else.
final class ActionableErrorTests: EndToEndCase {
    func assertError(_ args: [String], says fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Tool.run(args, timeout: 60)
        XCTAssertFalse(result.timedOut, file: file, line: line)
        XCTAssertNotNil(result.exitCode, "\(args): \(result.summary)", file: file, line: line)
        XCTAssertNotEqual(result.exitCode, 0, "\(args) succeeded", file: file, line: line)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, "\(args): \(result.stderr)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(result.stderr.contains(f), "\(args) should say \(f): \(result.stderr)", file: file, line: line)
        }
        XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain"), result.stderr, file: file, line: line)
    }

    func testNegativeValuesSayWhatTheFlagTakes() throws {
        try assertError(["train", "--lr", "-1"], says: ["--lr expects a positive number", "-1"])
        try assertError(["train", "--epochs", "-3"], says: ["--epochs expects a whole number of at least 1", "-3"])
        try assertError(["train", "--blas-threads", "-2"], says: ["--blas-threads expects", "-2"])
        try assertError(["evaluate", "--checkpoint", "x", "--data", "synthetic", "--iwae", "-5"], says: ["--iwae expects", "-5"])
        try assertError(["bench", "--seconds", "-1"], says: ["--seconds expects a positive number"])
        try assertError(["bench", "--seconds", "100000"], says: ["--seconds expects a positive number of at most 3600"])
    }

    func testConfigFileErrorsNameTheKey() throws {
        let dir = Tool.temporaryDirectory("config-keys")
        try Data(#"{"lr": -0.1}"#.utf8).write(to: URL(fileURLWithPath: dir + "/neg.json"))
        try assertError(["train", "--config", dir + "/neg.json"], says: ["neg.json: key \"lr\" expects a positive number"])
        try Data(#"{"maxNonFiniteSteps": 0}"#.utf8).write(to: URL(fileURLWithPath: dir + "/zero.json"))
        try assertError(["train", "--config", dir + "/zero.json"], says: ["key \"maxNonFiniteSteps\""])
        try Data(#"{"epochs": 2, "lr": 0.01, "epochs": 3}"#.utf8).write(to: URL(fileURLWithPath: dir + "/dup.json"))
        try assertError(["train", "--config", dir + "/dup.json"], says: ["dup.json", "\"epochs\"", "more than once"])
    }

    func testAFileWhereADirectoryBelongsIsSaidSo() throws {
        let dir = Tool.temporaryDirectory("out-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        try assertError(Tool.small + ["--out", dir + "/file", "--epochs", "1"], says: ["--out", "is a file, not a directory"])
        try assertError(Tool.small + ["--out", dir + "/file/run", "--epochs", "1"], says: ["--out", "/file is a file, not a directory"])
        let run = Tool.temporaryDirectory("out-file-run")
        try Tool.succeed(Tool.small + ["--out", run, "--epochs", "1", "--no-explain", "--no-eval"])
        try assertError(["explain", "--checkpoint", run, "--data", "synthetic:n=1000", "--out", dir + "/file/x", "--iwae", "2"],
                        says: ["is a file, not a directory"])
    }

    func testADatasetTooSmallToSplitSaysSo() throws {
        let dir = Tool.temporaryDirectory("tiny")
        try Data("0.1,0.2\n0.3,0.4\n0.5,0.6\n".utf8).write(to: URL(fileURLWithPath: dir + "/tiny.csv"))
        try assertError(["train", "--data", dir + "/tiny.csv", "--out", dir + "/r", "--hidden", "3", "--latent", "1"],
                        says: ["tiny.csv", "3 samples are too few to split into training and test data", "--no-eval --no-explain"])
        try Tool.succeed(["train", "--data", dir + "/tiny.csv", "--out", dir + "/ok", "--hidden", "3", "--latent", "1",
                          "--epochs", "1", "--no-eval", "--no-explain"])
    }

    /// inspect prints names and metadata from the file: control bytes in them are escapes.
    func testInspectShowsControlBytesAsEscapes() throws {
        let run = Tool.temporaryDirectory("inspect-control")
        try Tool.succeed(Tool.small + ["--out", run, "--epochs", "1", "--no-explain", "--no-eval"])
        let checkpoint = try Tool.latestCheckpoint(run)
        try ForgedCheckpointTests.resign(checkpoint, ["note": "a\u{1B}[2Jb\rc"])
        let result = try Tool.succeed(["inspect", checkpoint])
        XCTAssertFalse(result.stdout.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F }, result.stdout)
        XCTAssertTrue(result.stdout.contains("\\x1B"), result.stdout)
    }

    /// SIGTERM while the data loads used to kill the process; now the first step is finished
    /// and saved, as a signal during training does.
    func testSIGTERMDuringStartUpStopsAndSaves() throws {
        let out = Tool.temporaryDirectory("sigterm-start")
        let running = try Launcher.start("mpivae", ranks: nil,
                                         arguments: ["train", "--data", "synthetic:n=100000", "--hidden", "16", "--latent", "2",
                                                     "--out", out, "--no-explain", "--no-eval"])
        // The signal is sent once the process catches SIGTERM, and lands while the data are
        // generated (about two seconds for 100,000 samples).
        let deadline = Date().addingTimeInterval(30)
        while !Self.catchesSIGTERM(running.pid) && Date() < deadline { usleep(5_000) }
        kill(running.pid, SIGTERM)
        let result = try ProcessRunner.wait(running, timeout: 120)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("stopping on a signal; state saved at step 1"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoints/latest"))
    }

    /// Whether `pid` has a handler for SIGTERM (bit 15 of SigCgt in /proc/PID/status).
    static func catchesSIGTERM(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << (SIGTERM - 1)) != 0
    }
}
