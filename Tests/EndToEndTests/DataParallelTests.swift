import TestSupport
import XCTest

/// What a user of data-parallel training relies on: the rank count changes the speed, not the
/// result; uneven data never hangs; a rank that dies or disagrees ends the job.
final class DataParallelTests: EndToEndCase {
    func testOneTwoAndThreeRanksFollowTheSameTrajectoryFor200Steps() throws {
        var finals: [Int: [String: [Float]]] = [:]
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("equivalence-\(ranks)")
            try Tool.succeed(Tool.small + ["--out", out, "--epochs", "100", "--max-steps", "200", "--no-eval", "--no-explain"],
                             ranks: ranks == 1 ? nil : ranks)
            let ckpt = try Tool.latestCheckpoint(out)
            XCTAssertEqual(try Tool.metadata(ckpt)["step"], "200")
            finals[ranks] = try Tool.tensors(ckpt)
        }
        let one = try XCTUnwrap(finals[1])
        // Only the order of float sums differs between rank counts.
        for ranks in [2, 3] {
            let other = try XCTUnwrap(finals[ranks])
            let diff = Tool.relativeDifference(one, other, prefix: "")
            XCTAssertLessThan(diff, 2e-3, "\(ranks) ranks drifted from 1 rank by \(diff) (relative)")
        }
    }

    func testUnevenDataFinishesEveryEpochOnOneToThreeRanks() throws {
        // 1000 samples in global batches of 60: 16 full steps and a last one of 40, split 14/13/13.
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("uneven-\(ranks)")
            let args = Tool.small + ["--out", out, "--epochs", "2", "--no-eval", "--no-explain"]
            let result = try Tool.succeed(args, ranks: ranks == 1 ? nil : ranks, timeout: 120)
            XCTAssertTrue(result.stdout.contains("17 steps an epoch; the last batch of each epoch has the remaining 40 samples"), result.stdout)
            XCTAssertEqual(Tool.trainLosses(result.stdout).count, 2, result.stdout)
            XCTAssertEqual(try Tool.metadata(try Tool.latestCheckpoint(out))["step"], "34")
        }
        // A final batch smaller than the rank count: some ranks have no rows in that step.
        let out = Tool.temporaryDirectory("uneven-tiny")
        var args = Tool.small + ["--out", out, "--epochs", "1", "--no-eval", "--no-explain"]
        args[args.firstIndex(of: "--batch-size")! + 1] = "998"  // 1000 = 998 + 2: 2 rows for 3 ranks
        let result = try Tool.succeed(args, ranks: 3, timeout: 120)
        XCTAssertTrue(result.stdout.contains("remaining 2 samples"), result.stdout)
    }

    func testAKilledRankEndsTheJobWithinTenSeconds() throws {
        let out = Tool.temporaryDirectory("killed")
        let child = try Launcher.start("mpivae", ranks: 2, arguments: Tool.small + ["--out", out, "--epochs", "100000", "--no-eval", "--no-explain"])
        // Wait until training is under way: the first epoch's checkpoint appears.
        let started = Date()
        while !FileManager.default.fileExists(atPath: out + "/checkpoints/latest"), Date().timeIntervalSince(started) < 60 {
            usleep(50_000)
        }
        let ranks = ProcessRunner.children(of: child.pid)
        XCTAssertEqual(ranks.count, 2, "expected mpirun's two ranks")
        let victim = try XCTUnwrap(ranks.last)
        let killedAt = Date()
        kill(victim, SIGKILL)
        let result = try ProcessRunner.wait(child, timeout: 30)
        let seconds = Date().timeIntervalSince(killedAt)
        XCTAssertFalse(result.timedOut, "the job hung after a rank was killed")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertLessThan(seconds, 10, "the job took \(seconds) s to end")
        // What was saved before the kill still verifies.
        try Tool.succeed(["inspect", try Tool.latestCheckpoint(out)])
    }

    func testRanksStartedWithDifferentConfigsRefuseToTrain() throws {
        let out = Tool.temporaryDirectory("disagree")
        let common = Tool.small + ["--out", out, "--epochs", "1"]
        let result = try Tool.runDisagreeing(common + ["--lr", "0.001"], common + ["--lr", "0.002"])
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertFalse(result.timedOut)
        XCTAssertTrue(result.stderr.contains("rank 1 disagrees with rank 0 on the configuration"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\"lr\""), result.stderr)
        // Nothing was written: the check runs before the run directory is made.
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/config.json"))
    }
}

final class NonFiniteTests: EndToEndCase {
    /// A diverging run skips the bad steps on every rank alike and stops after the configured
    /// number in a row, keeping the checkpoint it had.
    func testDivergenceStopsWithTheLastGoodCheckpointKept() throws {
        let out = Tool.temporaryDirectory("nonfinite")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let good = try Tool.latestCheckpoint(out)
        let before = try Tool.tensorBytes(good)
        let result = try Tool.run(["train", "--resume", out, "--epochs", "3", "--lr", "1e30", "--max-nonfinite-steps", "4"], ranks: 2)
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertFalse(result.timedOut)
        XCTAssertTrue(result.stderr.contains("stopped after 4 non-finite steps in a row"), result.stderr)
        XCTAssertTrue(result.stderr.contains("the checkpoint it resumed from is kept"), result.stderr)
        XCTAssertEqual(try Tool.latestCheckpoint(out), good)
        XCTAssertEqual(try Tool.tensorBytes(good), before)
    }
}
