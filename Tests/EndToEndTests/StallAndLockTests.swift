import Foundation
import SafeTensors
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A job never hangs and never loses a run silently: a stopped rank or ranks started with
/// different commands end the job with one line; a run directory has one writer at a time; ranks
/// whose mpirun was killed stop writing. Deadlines in these tests are short (--stall-timeout 3)
/// with wide margins for a loaded machine.
final class StallAndLockTests: EndToEndCase {
    /// A training long enough to be interrupted, logging every step so progress shows on disk.
    func longTraining(_ out: String, stallTimeout: Double = 3) -> [String] {
        Tool.small + ["--epochs", "100000", "--no-explain", "--log-every", "1", "--checkpoint-every", "5",
                      "--out", out, "--stall-timeout", "\(stallTimeout)"]
    }

    /// Waits until the run has logged `steps` steps (or fails after `timeout` seconds).
    func waitForSteps(_ run: String, _ steps: Int, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) {
        waitForRecords(run, kind: "step", steps, timeout: timeout, file: file, line: line)
    }

    /// Waits until metrics.jsonl holds `count` records of `kind`.
    func waitForRecords(_ run: String, kind: String, _ count: Int, timeout: Double = 60,
                        file: StaticString = #filePath, line: UInt = #line) {
        let giveUp = Date().addingTimeInterval(timeout)
        while Date() < giveUp {
            let text = (try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)) ?? ""
            if text.components(separatedBy: "\"kind\":\"\(kind)\"").count - 1 >= count { return }
            usleep(50_000)
        }
        XCTFail("the run logged fewer than \(count) \(kind) records in \(timeout) s", file: file, line: line)
    }

    /// The rank processes mpirun started, by rank.
    func ranks(of mpirun: pid_t) -> [Int: pid_t] {
        var found: [Int: pid_t] = [:]
        for child in ProcessRunner.children(of: mpirun) {
            guard let environ = FileManager.default.contents(atPath: "/proc/\(child)/environ") else { continue }
            for entry in environ.split(separator: 0) {
                let text = String(decoding: entry, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst(21)) { found[rank] = child }
            }
        }
        return found
    }

    func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(end, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    func errorLines(_ result: ProcessResult) -> [Substring] {
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    }

    /// Rank 1 stopped with SIGSTOP mid-training: rank 0 ends the job within the timeout plus a few
    /// seconds, with one line naming rank 1 and the step, and the last checkpoint still loads.
    func testStoppedRankEndsTheJobWithOneLine() throws {
        try stoppedRankEndsTheJob(extra: [])
    }

    /// The same under the sharded optimizer, which on one host waits in shared-memory barriers
    /// rather than in the allreduce.
    func testStoppedRankEndsTheShardedJobWithOneLine() throws {
        try stoppedRankEndsTheJob(extra: ["--shard-optimizer"])
    }

    func stoppedRankEndsTheJob(extra: [String]) throws {
        let run = Tool.temporaryDirectory("stopped") + "/run"
        let job = try Launcher.start("mpivae", ranks: 2, arguments: longTraining(run) + extra)
        waitForSteps(run, 8)
        let rankPids = ranks(of: job.pid)
        guard let victim = rankPids[1] else {
            _ = try ProcessRunner.wait(job, timeout: 1)
            return XCTFail("no rank 1 among mpirun's children \(rankPids)")
        }
        let stopped = Date()
        kill(victim, SIGSTOP)
        let result = try ProcessRunner.wait(job, timeout: 40)
        let seconds = Date().timeIntervalSince(stopped)
        kill(victim, SIGCONT)
        XCTAssertFalse(result.timedOut, "the job hung after rank 1 stopped: \(result.summary)")
        XCTAssertEqual(result.exitCode, 75, result.summary)
        XCTAssertLessThan(seconds, 3 + 12, "from the stop to the job's end")
        let errors = errorLines(result)
        XCTAssertEqual(errors.count, 1, result.stderr)
        XCTAssertTrue(errors.first?.hasPrefix("error: rank 1 did not arrive at step ") ?? false, result.stderr)
        XCTAssertTrue(errors.first?.contains("rank 1 does not respond") ?? false, result.stderr)
        XCTAssertTrue(errors.first?.contains("--stall-timeout 3 s") ?? false, result.stderr)
        XCTAssertEqual(result.strays, [])
        // Nothing saved is lost: the newest checkpoint is whole.
        XCTAssertNoThrow(try SafeTensorsFile.read(path: try Tool.latestCheckpoint(run)))
    }

    /// Ranks started with different commands fail at once, in one line naming both, instead of
    /// hanging or failing with a raw MPI_ERR_TRUNCATE.
    func testRanksRunningDifferentCommandsFailInOneLine() throws {
        let dir = Tool.temporaryDirectory("commands")
        let pairs: [([String], String)] = [
            (["evaluate", "--checkpoint", dir + "/none", "--data", "synthetic:n=1000", "--stall-timeout", "3"], "evaluate"),
            (["explain", "--checkpoint", dir + "/none", "--data", "synthetic:n=1000", "--out", dir + "/x", "--stall-timeout", "3"], "explain"),
        ]
        for (other, name) in pairs {
            let train = Tool.small + ["--epochs", "1", "--no-explain", "--out", dir + "/run-\(name)", "--stall-timeout", "3"]
            let result = try Tool.runDisagreeing(train, other, timeout: 40)
            XCTAssertFalse(result.timedOut, result.summary)
            XCTAssertEqual(result.exitCode, 75, result.summary)
            XCTAssertLessThan(result.seconds, 3 + 12, result.summary)
            let errors = errorLines(result)
            XCTAssertEqual(errors, ["error: rank 1 runs `\(name)`, rank 0 runs `train`; every rank must run the same mpivae command"],
                           result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run-\(name)/config.json"), "train went ahead")
        }
    }

    /// A second train on a run directory in use (a --resume, or the same --out) fails at once with
    /// one line naming the first job's host and pid, and the first job's run is untouched.
    func testSecondWriterOfARunDirectoryFailsAtOnce() throws {
        let run = Tool.temporaryDirectory("lock") + "/run"
        let first = try Launcher.start("mpivae", ranks: nil, arguments: longTraining(run))
        waitForSteps(run, 3)
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let holder = "(host \(String(cString: host)), pid \(first.pid))"
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        for second in [["train", "--resume", run, "--stall-timeout", "3"], Tool.small + ["--out", run]] {
            let result = try Tool.run(second, timeout: 30)
            XCTAssertEqual(result.exitCode, 1, result.summary)
            XCTAssertLessThan(result.seconds, 10, result.summary)
            let errors = errorLines(result)
            XCTAssertEqual(errors.count, 1, result.stderr)
            XCTAssertTrue(errors.first?.contains("\(run) is in use by another mpivae job \(holder)") ?? false, result.stderr)
        }
        XCTAssertEqual(try String(contentsOfFile: run + "/config.json", encoding: .utf8), config)
        XCTAssertTrue(isAlive(first.pid), "the first job stopped")
        kill(first.pid, SIGTERM)
        let ended = try ProcessRunner.wait(first, timeout: 30)
        XCTAssertEqual(ended.exitCode, 0, ended.summary)
        // The lock goes with its holder: the run resumes now.
        try Tool.succeed(["train", "--resume", run, "--max-steps", "1"])
    }

    /// After kill -9 of mpirun its ranks stop and write nothing more, so a prompt resume takes the
    /// run directory over cleanly. (Without the fix Open MPI's ranks noticed about a second
    /// later and wrote checkpoints meanwhile.) The ranks are stopped while mpirun is killed, so
    /// the run's state at the kill is known exactly; they are then let go on.
    func testRanksStopWhenMpirunIsKilled() throws {
        let run = Tool.temporaryDirectory("orphans") + "/run"
        // Long epochs and no progress lines: nothing the ranks print can fail on the dead pipe.
        let args = ["train", "--data", "synthetic:n=60000", "--hidden", "48", "--latent", "3", "--batch-size", "60",
                    "--epochs", "1000", "--no-explain", "--no-eval", "--checkpoint-every", "2", "--log-every", "1000000",
                    "--out", run]
        let job = try Launcher.start("mpivae", ranks: 2, arguments: args)
        waitForRecords(run, kind: "checkpoint", 3)
        let rankPids = Array(ranks(of: job.pid).values)
        XCTAssertEqual(rankPids.count, 2, "mpirun's ranks")
        for pid in rankPids { kill(pid, SIGSTOP) }
        usleep(100_000)
        func snapshot() -> [String] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []).sorted()
            let metrics = (try? FileManager.default.attributesOfItem(atPath: run + "/metrics.jsonl")[.size] as? Int) ?? -1
            return names + ["metrics \(metrics ?? -1)"]
        }
        let atKill = snapshot()
        kill(job.pid, SIGKILL)
        usleep(100_000)
        for pid in rankPids { kill(pid, SIGCONT) }
        let giveUp = Date().addingTimeInterval(5)
        while Date() < giveUp && rankPids.contains(where: isAlive) { usleep(20_000) }
        XCTAssertEqual(rankPids.filter(isAlive), [], "ranks still running 5 s after mpirun was killed")
        usleep(500_000)
        XCTAssertEqual(snapshot(), atKill, "the run changed after mpirun was killed")
        _ = try ProcessRunner.wait(job, timeout: 10)
        try Tool.succeed(["train", "--resume", run, "--max-steps", "1"])
    }
}
