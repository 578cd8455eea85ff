import Foundation
import TestSupport
import XCTest

final class InfoTests: EndToEndCase {
    func testAloneIsAWorldOfOne() throws {
        let result = try Tool.succeed(["info"])
        XCTAssertTrue(result.stdout.contains("world: 1 rank on 1 host"), result.stdout)
        XCTAssertTrue(result.stdout.contains("MPI library: Open MPI"), result.stdout)
        XCTAssertTrue(result.stdout.contains("rank 0: host"), result.stdout)
    }

    func testThreeRanksGiveOneGatheredSummary() throws {
        let result = try Tool.succeed(["info"], ranks: 3)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix("world:") }, ["world: 3 ranks on 1 host"], result.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("MPI library:") }.count, 1, result.stdout)
        for r in 0..<3 { XCTAssertEqual(lines.filter { $0.hasPrefix("  rank \(r): host") }.count, 1, result.stdout) }
    }

    func testExpectedWorldSizeIsEnforced() throws {
        try Tool.succeed(["info", "--expect-world-size", "2"], ranks: 2)
        let wrong = try Tool.run(["info", "--expect-world-size", "4"], ranks: 2)
        XCTAssertNotEqual(wrong.exitCode, 0)
        XCTAssertTrue(wrong.stderr.contains("the world has 2 ranks, expected 4"), wrong.stderr)
    }

    /// `bench` is a benchmark, not a test: only that it runs on one and two ranks and reports
    /// every figure, each within the range its definition allows.
    func testBenchReportsEveryFigureOnOneAndTwoRanks() throws {
        for ranks in [1, 2] {
            let result = try Tool.succeed(["bench", "--seconds", "0.3", "--warmup-steps", "30", "--json"], ranks: ranks, timeout: 300)
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let single = try XCTUnwrap(object?["single_rank"] as? [String: Any], result.stdout)
            let trained = try XCTUnwrap(object?["trained_state"] as? [String: Any], result.stdout)
            try checkTrainedState(trained, warmupSteps: 30)
            for key in ["samplesPerSecond", "peakGFLOPS", "productsOnlyGFLOPS", "adamAloneMilliseconds"] {
                XCTAssertGreaterThan(single[key] as? Double ?? 0, 0, key)
            }
            for key in ["rooflineRatio", "designRooflineRatio", "productsOnlyRatio", "designRatioCeiling"] {
                let value = single[key] as? Double ?? -1
                XCTAssertTrue(value > 0 && value < 2, "\(key) = \(value)")
            }
            let parallel = object?["data_parallel"] as? [String: Any]
            if ranks == 1 { XCTAssertNil(parallel); continue }
            let p = try XCTUnwrap(parallel, result.stdout)
            XCTAssertEqual(p["worldSize"] as? Int, 2)
            for key in ["scalingEfficiency", "independentEfficiency", "scalingCeiling", "allreduceOverhead"] {
                let value = p[key] as? Double ?? -1
                XCTAssertTrue(value > 0 && value < 10, "\(key) = \(value)")
            }
        }
    }

    /// The trained-state figures: both states timed on the same real batches, their ratio and
    /// the flag that follows from it, and the subnormal census of one step of each.
    func checkTrainedState(_ trained: [String: Any], warmupSteps: Int?, file: StaticString = #filePath, line: UInt = #line) throws {
        let fresh = trained["freshSamplesPerSecond"] as? Double ?? 0, after = trained["trainedSamplesPerSecond"] as? Double ?? 0
        XCTAssertGreaterThan(fresh, 0, file: file, line: line)
        XCTAssertGreaterThan(after, 0, file: file, line: line)
        let ratio = try XCTUnwrap(trained["trainedOverFresh"] as? Double, file: file, line: line)
        XCTAssertEqual(ratio, after / fresh, accuracy: 1e-9, file: file, line: line)
        XCTAssertEqual(trained["trainedIsSlower"] as? Bool, ratio < 0.85, file: file, line: line)
        XCTAssertEqual(trained["warmupSteps"] as? Int, warmupSteps, file: file, line: line)
        if let warmupSteps { XCTAssertEqual(trained["trainedAdamStep"] as? Int, warmupSteps, file: file, line: line) }
        let fashion = FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")
        XCTAssertEqual((trained["data"] as? String)?.hasPrefix("fashion-mnist"), fashion, "\(trained)", file: file, line: line)
        XCTAssertEqual(trained["subnormalsFlushed"] as? Bool, true, file: file, line: line)
        for key in ["freshSubnormals", "trainedSubnormals"] {
            let census = try XCTUnwrap(trained[key] as? [String: Any], key, file: file, line: line)
            // Flushed: no step can leave a subnormal anywhere.
            for field in ["activations", "gradients", "parametersAndMoments"] {
                XCTAssertEqual(census[field] as? Int, 0, "\(key).\(field)", file: file, line: line)
            }
            for field in ["activationValues", "gradientValues", "parameterAndMomentValues"] {
                XCTAssertGreaterThan(census[field] as? Int ?? 0, 0, "\(key).\(field)", file: file, line: line)
            }
        }
    }

    /// `--checkpoint` benchmarks from a run's own parameters and Adam state, and says so.
    func testBenchStartsTheTrainedStateFromACheckpoint() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist"), "Launch/setup.sh installs Fashion-MNIST")
        let out = Tool.temporaryDirectory("bench-checkpoint")
        try Tool.succeed(["train", "--data", "fashion-mnist", "--out", out, "--max-steps", "40", "--no-eval", "--no-explain"])
        let result = try Tool.succeed(["bench", "--seconds", "0.2", "--checkpoint", out, "--json"], timeout: 300)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let trained = try XCTUnwrap(object?["trained_state"] as? [String: Any], result.stdout)
        try checkTrainedState(trained, warmupSteps: nil)
        XCTAssertEqual(trained["trainedAdamStep"] as? Int, 40)
        XCTAssertEqual(trained["checkpoint"] as? String, try Tool.latestCheckpoint(out))
        let text = try Tool.succeed(["bench", "--seconds", "0.2", "--checkpoint", out]).stdout
        XCTAssertTrue(text.contains("trained state: checkpoint \(try Tool.latestCheckpoint(out))"), text)
        XCTAssertTrue(text.contains("step: fresh state"), text)
        let bad = try Tool.run(["bench", "--checkpoint", out + "/nothing-here"])
        XCTAssertNotEqual(bad.exitCode, 0)
        XCTAssertTrue(bad.stderr.contains("nothing-here"), bad.stderr)
    }

    func testHelpIsPrintedAndSucceeds() throws {
        for args in [["--help"], ["train", "--help"], ["help", "train"], ["explain", "-h"]] {
            let result = try Tool.succeed(args)
            XCTAssertTrue(result.stdout.contains("USAGE: mpivae"), "\(args): \(result.stdout)")
            XCTAssertEqual(result.stderr, "", "\(args)")
        }
        XCTAssertTrue(try Tool.succeed(["train", "--help"]).stdout.contains("--batch-size"))
        XCTAssertEqual(try Tool.succeed(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
    }
}
