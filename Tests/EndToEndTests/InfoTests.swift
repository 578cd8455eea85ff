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
            let result = try Tool.succeed(["bench", "--seconds", "0.3", "--json"], ranks: ranks, timeout: 300)
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let single = try XCTUnwrap(object?["single_rank"] as? [String: Any], result.stdout)
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
