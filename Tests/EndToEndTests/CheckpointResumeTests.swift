import TestSupport
import XCTest

/// Checkpoints as a user relies on them: resuming continues exactly, on any rank count, and no
/// kill at any moment leaves a run that cannot resume.
final class CheckpointResumeTests: EndToEndCase {
    func testResumeIsBitForBitAtOneAndTwoRanks() throws {
        for ranks in [nil, 2] as [Int?] {
            let straight = Tool.temporaryDirectory("straight")
            try Tool.succeed(Tool.small + ["--out", straight, "--epochs", "2", "--no-explain"], ranks: ranks)
            let split = Tool.temporaryDirectory("split")
            try Tool.succeed(Tool.small + ["--out", split, "--epochs", "1", "--no-explain"], ranks: ranks)
            let resumed = try Tool.succeed(["train", "--resume", split, "--epochs", "2"], ranks: ranks)
            XCTAssertTrue(resumed.stdout.contains("resuming at epoch 2, step 0"), resumed.stdout)

            let a = try Tool.tensorBytes(try Tool.latestCheckpoint(straight))
            let b = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
            XCTAssertEqual(a.count, b.count)
            XCTAssertTrue(a.keys.contains("optimizer.v.encoder.0.weight"))
            for (name, bytes) in a {
                XCTAssertEqual(bytes, b[name], "\(name) differs after resume on \(ranks ?? 1) rank(s)")
            }
        }
    }

    func testSavedOnTwoRanksResumesOnOneAndThreeFromTheSamePosition() throws {
        let base = Tool.temporaryDirectory("two")
        // Stop mid-epoch (step 20 of 17-step epochs: epoch 2, step 3) to test a mid-epoch position.
        try Tool.succeed(Tool.small + ["--out", base, "--epochs", "4", "--max-steps", "20", "--no-explain"], ranks: 2)
        let saved = try Tool.metadata(try Tool.latestCheckpoint(base))
        XCTAssertEqual(saved["world_size"], "2")
        XCTAssertEqual(saved["epoch"], "1")
        XCTAssertEqual(saved["step_in_epoch"], "3")
        let position = try XCTUnwrap(saved["sample_position"])

        for ranks in [nil, 3] as [Int?] {
            let copy = Tool.temporaryDirectory("resume-\(ranks ?? 1)")
            try FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: base, toPath: copy)
            let result = try Tool.succeed(["train", "--resume", copy, "--max-steps", "0"], ranks: ranks)
            XCTAssertTrue(result.stdout.contains("resuming at epoch 2, step 3 of 17 (global sample \(position))"), result.stdout)
            let losses = Tool.trainLosses(result.stdout)
            XCTAssertEqual(losses.count, 3, result.stdout)  // epochs 2 (partial), 3 and 4
            XCTAssertLessThan(losses[2], losses[1], "the ELBO should keep improving after resuming: \(losses)")
            let final = try Tool.metadata(try Tool.latestCheckpoint(copy))
            XCTAssertEqual(final["world_size"], String(ranks ?? 1))
            XCTAssertEqual(final["step"], "68")
        }
    }

    func testKillingTheJobAtRandomMomentsAlwaysLeavesAResumableCheckpoint() throws {
        let out = Tool.temporaryDirectory("crash")
        var generator = SystemRandomNumberGenerator()
        let args = Tool.small + ["--epochs", "40", "--checkpoint-every", "3", "--keep-checkpoints", "2", "--no-explain", "--no-eval"]
        var first = true
        for round in 0..<6 {
            let child = try Launcher.start("mpivae", ranks: 2, arguments: first ? args + ["--out", out] : ["train", "--resume", out])
            first = false
            // Wait for the run to be under way, then kill at a random moment of its writing.
            let start = Date()
            while !FileManager.default.fileExists(atPath: out + "/checkpoints/latest"), Date().timeIntervalSince(start) < 60 { usleep(20_000) }
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            let ranks = ProcessRunner.children(of: child.pid)
            kill(child.pid, SIGKILL)
            for rank in ranks { kill(rank, SIGKILL) }
            _ = try ProcessRunner.wait(child, timeout: 30)
            let latest = try Tool.latestCheckpoint(out)
            let inspect = try Tool.run(["inspect", latest])
            XCTAssertEqual(inspect.exitCode, 0, "round \(round): \(latest) does not verify: \(inspect.summary)")
        }
        let final = try Tool.succeed(["train", "--resume", out, "--epochs", "40"], ranks: 2, timeout: 300)
        XCTAssertTrue(final.stdout.contains("resuming"), final.stdout)
        XCTAssertEqual(try Tool.metadata(try Tool.latestCheckpoint(out))["epoch"], "40")
    }

    func testACheckpointFromAnotherModelIsRefused() throws {
        let out = Tool.temporaryDirectory("other-model")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let config = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
        let result = try Tool.run(["train", "--resume", out, "--latent", "5", "--epochs", "2"])
        XCTAssertNotEqual(result.exitCode, 0)
        XCTAssertTrue(result.stderr.contains("written for another model"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        // The refused attempt changed nothing: the run still resumes as it was.
        XCTAssertEqual(try String(contentsOfFile: out + "/config.json", encoding: .utf8), config)
        try Tool.succeed(["train", "--resume", out, "--epochs", "2", "--no-explain"])
    }

    func testPythonReadsACheckpoint() throws {
        let out = Tool.temporaryDirectory("python")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let ckpt = try Tool.latestCheckpoint(out)
        let script = """
            import sys, json
            try:
                from safetensors.numpy import load_file
            except ImportError:
                print("SKIP"); sys.exit(0)
            t = load_file(sys.argv[1])
            print(json.dumps({k: [list(v.shape), str(v.dtype), float(v.astype('float64').sum())] for k, v in t.items()}))
            """
        let result = try ProcessRunner.run("python3", ["-c", script, ckpt], environment: Launcher.launchEnvironment(), timeout: 60)
        guard result.exitCode == 0 else { throw XCTSkip("python3 is not usable here: \(result.summary)") }
        if result.stdout.hasPrefix("SKIP") { throw XCTSkip("the safetensors Python package is not installed (Launch/setup.sh installs it)") }
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [Any]])
        let ours = try Tool.tensors(ckpt)
        XCTAssertEqual(Set(parsed.keys), Set(ours.keys))
        for (name, values) in ours {
            let entry = try XCTUnwrap(parsed[name])
            XCTAssertEqual(entry[1] as? String, "float32")
            let sum = values.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(entry[2] as? Double ?? .nan, sum, accuracy: 1e-6 * max(1, abs(sum)) + 1e-6, name)
        }
        XCTAssertEqual((parsed["encoder.0.weight"]?[0] as? [Int]), [48, 784])
    }
}

final class SignalTests: EndToEndCase {
    /// SIGTERM (what Slurm and kill send first) to one rank: every rank stops at the same step
    /// after saving, the job exits 0, and the run resumes from there.
    func testSigtermSavesAndStopsEveryRank() throws {
        let out = Tool.temporaryDirectory("sigterm")
        let child = try Launcher.start("mpivae", ranks: 2, arguments: Tool.small + ["--out", out, "--epochs", "100000", "--no-explain", "--no-eval"])
        let start = Date()
        while !FileManager.default.fileExists(atPath: out + "/checkpoints/latest"), Date().timeIntervalSince(start) < 60 { usleep(20_000) }
        let ranks = ProcessRunner.children(of: child.pid)
        XCTAssertEqual(ranks.count, 2)
        kill(try XCTUnwrap(ranks.first), SIGTERM)
        let result = try ProcessRunner.wait(child, timeout: 30)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("stopping on a signal; state saved at step"), result.stdout)
        let saved = try Tool.metadata(try Tool.latestCheckpoint(out))
        let resumed = try Tool.succeed(["train", "--resume", out, "--epochs", String(Int(saved["epoch"]!)! + 1)], ranks: 2)
        XCTAssertTrue(resumed.stdout.contains("resuming at epoch \(Int(saved["epoch"]!)! + 1), step \(saved["step_in_epoch"]!)"), resumed.stdout)
    }

    /// A signal once training is over (here during a long explanation export) ends the job within
    /// seconds instead of after the export: either the ranks agree to skip it and exit 0, or the
    /// signalled rank ends at once. The checkpoint verifies and no finished-looking export is left.
    func testASignalAfterTheLastStepDoesNotWaitForTheExport() throws {
        let out = Tool.temporaryDirectory("sigterm-export")
        let child = try Launcher.start("mpivae", ranks: 2, arguments: Tool.small + ["--out", out, "--epochs", "1", "--no-eval",
                                                                                    "--explain-iwae", "200000"])
        let start = Date()
        while !FileManager.default.fileExists(atPath: out + "/checkpoints/latest"), Date().timeIntervalSince(start) < 60 { usleep(20_000) }
        let ranks = ProcessRunner.children(of: child.pid)
        XCTAssertEqual(ranks.count, 2)
        for rank in ranks { kill(rank, SIGTERM) }  // as srun and Slurm's time limit do
        let result = try ProcessRunner.wait(child, timeout: 60)
        XCTAssertFalse(result.timedOut, "the job waited for the export after SIGTERM")
        if result.exitCode == 0 {
            XCTAssertTrue(result.stdout.contains("the explanation export is skipped"), result.stdout)
        } else {
            XCTAssertEqual(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error: stopped by a signal after training") }.count, 1,
                           result.summary)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/explain/summary.json"))
        try Tool.succeed(["inspect", try Tool.latestCheckpoint(out)])
    }
}
