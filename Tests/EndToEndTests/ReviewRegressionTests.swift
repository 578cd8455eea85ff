import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Cases an independent review found: each once crashed, hung, ran a step too many or kept the
/// wrong checkpoint.
final class ReviewRegressionTests: EndToEndCase {
    func testResumeWithAnotherBatchSizeContinuesOnlyFromAStepBoundary() throws {
        let out = Tool.temporaryDirectory("rebatch")
        // 1000 samples in batches of 60: stopping after 20 steps leaves epoch 2 at sample 180.
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "3", "--max-steps", "20", "--no-explain", "--no-eval"])
        let config = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
        // 180 is not a multiple of 100: refused, and the run is left as it was.
        let refused = try Tool.run(["train", "--resume", out, "--batch-size", "100", "--max-steps", "0"], ranks: 2)
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        XCTAssertTrue(refused.stderr.contains("not at a step boundary for --batch-size 100 (it was saved with --batch-size 60)"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: out + "/config.json", encoding: .utf8), config)
        // 180 is a multiple of 90: the run continues at epoch 2, step 2 of the new batching.
        let resumed = try Tool.succeed(["train", "--resume", out, "--batch-size", "90", "--max-steps", "0", "--no-explain"])
        XCTAssertTrue(resumed.stdout.contains("resuming at epoch 2, step 2 of 12 (global sample 1180)"), resumed.stdout)
    }

    func testResumeDoesNotRunPastMaxSteps() throws {
        let out = Tool.temporaryDirectory("maxsteps")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "5", "--max-steps", "30", "--no-explain", "--no-eval"])
        XCTAssertEqual(try Tool.metadata(try Tool.latestCheckpoint(out))["step"], "30")
        try Tool.succeed(["train", "--resume", out], ranks: 2)
        XCTAssertEqual(try Tool.metadata(try Tool.latestCheckpoint(out))["step"], "30")
    }

    func testNoEvalMeansNoEvaluationEvenWithTheExport() throws {
        let out = Tool.temporaryDirectory("noeval")
        let result = try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-eval", "--explain-iwae", "2"])
        let epochLines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch 1/1") }
        XCTAssertEqual(epochLines.count, 1, result.stdout)
        XCTAssertFalse(epochLines[0].contains("test -ELBO"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/explain/report.html"))
    }

    func testCheckpointsWrittenWhileDivergingNeverReplaceTheGoodOne() throws {
        let out = Tool.temporaryDirectory("diverging")
        // Two steps an epoch, so several epochs end while the steps are non-finite.
        let result = try Tool.run(["train", "--data", "synthetic:n=100", "--hidden", "16", "--latent", "2", "--batch-size", "50",
                                   "--lr", "1e30", "--max-nonfinite-steps", "6", "--keep-checkpoints", "2", "--epochs", "50",
                                   "--checkpoint-every", "1",
                                   "--out", out, "--no-explain", "--no-eval"])
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        let firstBad = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.contains("non-finite") })
        let badStep = try XCTUnwrap(Int(firstBad.split(separator: " ")[2]))
        let saved = try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints").filter { $0.hasSuffix(".safetensors") }
        XCTAssertFalse(saved.isEmpty, "the finite first step should have been saved")
        XCTAssertTrue(result.stderr.contains("the last good checkpoint"), result.stderr)
        for name in saved {
            let step = try XCTUnwrap(Int(try Tool.metadata(out + "/checkpoints/" + name)["step"] ?? ""))
            XCTAssertLessThan(step, badStep, "\(name) was written after step \(badStep) had gone non-finite")
        }
    }

    func testATestSplitOfAnotherShapeIsRefused() throws {
        let dir = Tool.temporaryDirectory("idx")
        func idx(_ magic: UInt8, _ dims: [Int], _ payload: [UInt8]) -> Data {
            var bytes: [UInt8] = [0, 0, 8, magic]
            for d in dims { bytes += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
            return Data(bytes + payload)
        }
        try idx(3, [20, 28, 28], [UInt8](repeating: 7, count: 20 * 784)).write(to: URL(fileURLWithPath: dir + "/train-images-idx3-ubyte"))
        try idx(1, [20], [UInt8](repeating: 1, count: 20)).write(to: URL(fileURLWithPath: dir + "/train-labels-idx1-ubyte"))
        try idx(3, [5, 8, 8], [UInt8](repeating: 7, count: 5 * 64)).write(to: URL(fileURLWithPath: dir + "/t10k-images-idx3-ubyte"))
        try idx(1, [5], [UInt8](repeating: 1, count: 5)).write(to: URL(fileURLWithPath: dir + "/t10k-labels-idx1-ubyte"))
        let result = try Tool.run(["train", "--data", dir, "--out", dir + "/run", "--epochs", "1", "--hidden", "8", "--latent", "2"], ranks: 2)
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertNotNil(result.exitCode, "a signal ended the job: \(result.summary)")
        XCTAssertTrue(result.stderr.contains("test samples have shape [8, 8], training samples [28, 28]"), result.stderr)
    }

    func testRanksWithDifferentDataStopEvaluateInsteadOfHanging() throws {
        let out = Tool.temporaryDirectory("evaldata")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let ckpt = try Tool.latestCheckpoint(out)
        let result = try Tool.runDisagreeing(["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=1000"],
                                             ["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=500"])
        XCTAssertFalse(result.timedOut, "evaluate hung")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stderr.contains("rank 1 disagrees with rank 0 on the data"), result.stderr)
    }

    func testACheckpointDescribingAnImpossibleModelIsRefused() throws {
        let dir = Tool.temporaryDirectory("badmodel")
        for (name, config) in [("negative", #"{"inputDim":4,"encoderHidden":[3],"latent":-3}"#),
                               ("huge", #"{"inputDim":4,"encoderHidden":[16000000,16000000],"latent":2}"#)] {
            var writer = SafeTensorsWriter(metadata: ["model_config": config, "format_version": "1"], includesChecksums: true)
            try writer.add(name: "placeholder", shape: [1], values: [Float(0)])
            let path = dir + "/\(name).safetensors"
            try writer.writeAtomically(to: path)
            let result = try Tool.run(["evaluate", "--checkpoint", path, "--data", "synthetic:n=100"], ranks: 2)
            XCTAssertNotNil(result.exitCode, "\(name): a signal ended the job: \(result.summary)")
            XCTAssertNotEqual(result.exitCode, 0)
            XCTAssertEqual(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("model config"), result.stderr)
        }
    }

    func testSizesBeyondWhatCanBeComputedAreRefused() throws {
        let out = Tool.temporaryDirectory("huge")
        for args in [["--batch-size", "9223372036854775807"], ["--batch-size", "100000000"], ["--explain-iwae", "9223372036854775807"]] {
            let result = try Tool.run(["train", "--data", "synthetic:n=100", "--out", out + "/r", "--hidden", "8", "--latent", "2"] + args)
            XCTAssertNotNil(result.exitCode, "\(args): \(result.summary)")
            XCTAssertNotEqual(result.exitCode, 0, "\(args)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
        let result = try Tool.run(["evaluate", "--checkpoint", "x.safetensors", "--data", "synthetic:n=100", "--iwae", "9223372036854775807"])
        XCTAssertTrue(result.stderr.contains("--iwae expects a whole number from 0 to 1000000"), result.stderr)
    }
}

/// Cases a second review found in the export, the data readers and the smaller commands.
final class SecondReviewRegressionTests: EndToEndCase {
    func trained(likelihood: String = "bernoulli") throws -> String {
        let out = Tool.temporaryDirectory("trained-\(likelihood)")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval", "--likelihood", likelihood])
        return try Tool.latestCheckpoint(out)
    }

    func testExplainRanksWithDifferentOptionsStopInsteadOfHanging() throws {
        let ckpt = try trained()
        let out = Tool.temporaryDirectory("explain-options")
        let common = ["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out, "--iwae", "3"]
        let result = try Tool.runDisagreeing(common, common + ["--sample", "500"])
        XCTAssertFalse(result.timedOut, "explain hung")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stderr.contains("rank 1 disagrees with rank 0 on the options"), result.stderr)
    }

    func testEvaluateRanksWithDifferentOptionsRefuseToMixTheirResults() throws {
        let ckpt = try trained()
        let common = ["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=1000"]
        let result = try Tool.runDisagreeing(common + ["--iwae", "3"], common + ["--iwae", "5"])
        XCTAssertFalse(result.timedOut, "evaluate hung")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stderr.contains("rank 1 disagrees with rank 0 on the options"), result.stderr)
    }

    func testBernoulliRefusesDataOutsideTheUnitInterval() throws {
        let dir = Tool.temporaryDirectory("range")
        let csv = (0..<30).map { i in (0..<4).map { String(Float(($0 + i) % 7) - 3) }.joined(separator: ",") }.joined(separator: "\n")
        try Data(csv.utf8).write(to: URL(fileURLWithPath: dir + "/n.csv"))
        let result = try Tool.run(["train", "--data", dir + "/n.csv", "--out", dir + "/r", "--hidden", "4", "--latent", "1"], ranks: 2)
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stderr.contains("values range from -3.0 to 3.0"), result.stderr)
        XCTAssertTrue(result.stderr.contains("--likelihood gaussian"), result.stderr)
        // The same data is fine for a Gaussian likelihood.
        try Tool.succeed(["train", "--data", dir + "/n.csv", "--out", dir + "/g", "--hidden", "4", "--latent", "1",
                          "--likelihood", "gaussian", "--epochs", "1", "--no-explain"])
    }

    func testAWriteFailureOnRankZeroEndsExplainInOrder() throws {
        let ckpt = try trained()
        let out = Tool.temporaryDirectory("explain-write")
        // A directory where the export wants to write a file.
        try FileManager.default.createDirectory(atPath: out + "/mu.npy", withIntermediateDirectories: true)
        let result = try Tool.run(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out, "--iwae", "2"], ranks: 2)
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertFalse(result.stderr.contains("MPI_ABORT"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("mu.npy"), result.stderr)
    }

    func testEvaluateAndExplainAgreeForTheSameSeed() throws {
        let ckpt = try trained()
        let evaluated = try Tool.succeed(["evaluate", "--json", "--checkpoint", ckpt, "--data", "synthetic:n=1000"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        let negELBO = try XCTUnwrap(object["neg_elbo"] as? Double)
        let out = Tool.temporaryDirectory("explain-seed")
        try Tool.succeed(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out, "--iwae", "1", "--no-neighbours"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let explained = try XCTUnwrap(summary["mean_neg_elbo"] as? Double)
        XCTAssertEqual(explained, negELBO, accuracy: 1e-3 * abs(negELBO))
    }

    func testEvaluateWritesNonFiniteFiguresAsNull() throws {
        let ckpt = try trained(likelihood: "gaussian")
        let dir = Tool.temporaryDirectory("huge-values")
        // Finite values so large that the Gaussian's squared error overflows to infinity.
        let row = [String](repeating: "1e30", count: 784).joined(separator: ",")
        try Data(([row, row].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/big.csv"))
        // Two rows have no test split to hold out: the training split is all of them.
        let result = try Tool.succeed(["evaluate", "--json", "--checkpoint", ckpt, "--data", dir + "/big.csv", "--split", "train"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertTrue(object["recon"] is NSNull, result.stdout)
    }

    func testBenchRefusesAnOversizedBatch() throws {
        let result = try Tool.run(["bench", "--batch-size", "100000000"])
        XCTAssertNotEqual(result.exitCode, 0)
        XCTAssertTrue(result.stderr.contains("--batch-size expects a whole number from 1 to 65536"), result.stderr)
    }
}
