import Foundation
import SafeTensors
import TestSupport
import XCTest

/// How a run ends says what happened, and a resumed run continues with the arithmetic it was
/// trained with, or says in one line that it does not.
final class HonestEndingTests: EndToEndCase {
    /// With --lr 1e30 the first step throws the parameters so far that every later step is
    /// non-finite and skipped; 16 such steps stay under --max-nonfinite-steps 20. That used to
    /// exit 0 with no checkpoint and an explanation export full of NaN.
    func testARunEndingInNonFiniteStepsFailsAndExportsNothing() throws {
        let out = Tool.temporaryDirectory("nonfinite-end")
        let result = try Tool.run(Tool.small + ["--out", out, "--epochs", "1", "--lr", "1e30", "--explain-iwae", "2"], timeout: 120)
        XCTAssertNotNil(result.exitCode, result.summary)
        XCTAssertNotEqual(result.exitCode, 0, "a run that ended in non-finite steps exited 0: \(result.stdout)")
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("non-finite"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/explain/summary.json"), "an export was written from non-finite parameters")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/checkpoints/latest"), "a checkpoint was written after the blow-up")
    }

    /// A checkpoint of NaN parameters (re-signed, so only the values are wrong): evaluate used to
    /// print "-ELBO nan" and exit 0.
    func testEvaluateAndExplainRefuseNonFiniteParameters() throws {
        let out = Tool.temporaryDirectory("nan-checkpoint")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let checkpoint = try Tool.latestCheckpoint(out)
        let file = try SafeTensorsFile.read(path: checkpoint)
        var writer = SafeTensorsWriter(metadata: file.metadata, includesChecksums: true)
        for t in file.tensors {
            var values = try file.floats(t.name)
            if t.name == "decoder.0.bias" { values[0] = .nan }
            try writer.add(name: t.name, shape: t.shape, values: values)
        }
        try writer.writeAtomically(to: checkpoint)
        for args in [["evaluate", "--checkpoint", checkpoint, "--data", "synthetic:n=1000"],
                     ["explain", "--checkpoint", checkpoint, "--data", "synthetic:n=1000", "--out", out + "/x", "--iwae", "2"]] {
            let result = try Tool.run(args, timeout: 60)
            XCTAssertEqual(result.exitCode, 1, "\(args): \(result.summary)\n\(result.stdout)")
            XCTAssertTrue(result.stderr.contains("not finite"), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, result.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/x/summary.json"))
    }

    /// A run trained with --blas-threads 2, resumed without the flag where the default is 1 thread
    /// (the tests' OPENBLAS_NUM_THREADS=1): the saved count is restored, so the resumed run is the
    /// uninterrupted one; asking for another count is kept and said in one line.
    func testResumeRestoresOrReportsTheArithmeticSettings() throws {
        try XCTSkipIf(ProcessInfo.processInfo.activeProcessorCount < 2, "needs two cores for two BLAS threads")
        let model = ["--hidden", "256", "--latent", "8", "--no-explain", "--no-eval"]
        let straight = Tool.temporaryDirectory("arith-straight")
        try Tool.succeed(Tool.small + model + ["--out", straight, "--epochs", "2", "--blas-threads", "2"])
        let resumed = Tool.temporaryDirectory("arith-resumed")
        try Tool.succeed(Tool.small + model + ["--out", resumed, "--epochs", "1", "--blas-threads", "2"])
        let restored = try Tool.succeed(["train", "--resume", resumed, "--epochs", "2"])
        XCTAssertTrue(restored.stdout.contains("resuming with the run's --blas-threads 2"), restored.stdout)
        XCTAssertEqual(try Tool.arithmetic(try Tool.latestCheckpoint(resumed))["blas_threads"], "2")
        XCTAssertEqual(try Tool.tensorBytes(try Tool.latestCheckpoint(resumed)), try Tool.tensorBytes(try Tool.latestCheckpoint(straight)),
                       "the resumed run is not the uninterrupted one")

        let changed = try Tool.succeed(["train", "--resume", resumed, "--epochs", "3", "--blas-threads", "1"])
        let lines = changed.stdout.split(separator: "\n").filter { $0.contains("--blas-threads") }
        XCTAssertEqual(lines.count, 1, changed.stdout)
        XCTAssertTrue(lines.first?.hasPrefix("warning: resuming with --blas-threads 1") ?? false, changed.stdout)
        XCTAssertEqual(try Tool.arithmetic(try Tool.latestCheckpoint(resumed))["blas_threads"], "1")
    }
}

extension Tool {
    /// The arithmetic settings a checkpoint records.
    static func arithmetic(_ path: String) throws -> [String: String] {
        let text = try metadata(path)["arithmetic"] ?? "{}"
        return (try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? [:]
    }
}
