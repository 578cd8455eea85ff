import Datasets
import Foundation
import TestSupport
import XCTest

/// `mpivae explain --lime` as a user runs it: the same surrogates on any number of ranks, the
/// ground-truth measure on synthetic data, and bad settings refused with one line.
final class LIMEEndToEndTests: EndToEndCase {
    static var trained: String?

    func trainedCheckpoint() throws -> String {
        if let path = Self.trained { return path }
        let out = Tool.temporaryDirectory("lime")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "2", "--no-explain"])
        let path = try Tool.latestCheckpoint(out)
        Self.trained = path
        return path
    }

    func testSurrogatesAreTheSameBitsOnOneAndThreeRanks() throws {
        let ckpt = try trainedCheckpoint()
        var weights: [Int: [String: [UInt8]]] = [:]
        var summaries: [Int: [String: Any]] = [:]
        for ranks in [1, 3] {
            let out = Tool.temporaryDirectory("lime-\(ranks)")
            try Tool.succeed(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out, "--iwae", "2",
                              "--no-neighbours", "--sample", "5", "--lime", "--lime-samples", "130", "--lime-explained", "4"],
                             ranks: ranks == 1 ? nil : ranks, timeout: 300)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
            let lime = try XCTUnwrap(json["lime"] as? [String: Any])
            let samples = try XCTUnwrap(lime["samples"] as? [[String: Any]])
            XCTAssertEqual(samples.count, 4)
            XCTAssertEqual(samples.first?["index"] as? Int, 5, "the --sample first")
            var files: [String: [UInt8]] = [:]
            for s in samples {
                let i = try XCTUnwrap(s["index"] as? Int)
                for name in ["weights.npy", "segments.npy", "weights.csv"] {
                    files["\(i)/\(name)"] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(out)/lime/\(i)/\(name)")))
                }
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/lime/\(i)/kl.png"))
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/lime/\(i)/comparison.png"))
            }
            let truth = try XCTUnwrap(json["attribution_ground_truth"] as? [String: Any])
            XCTAssertEqual(Set(truth.keys), ["saliency", "occlusion", "lime"])
            weights[ranks] = files
            summaries[ranks] = lime
        }
        XCTAssertEqual(weights[1]?.count, 12)
        // Each perturbation goes through the same batch on any rank count, so equality is exact.
        XCTAssertEqual(weights[1], weights[3])
        XCTAssertEqual(summaries[1]?["median_r2_active_means"] as? Double, summaries[3]?["median_r2_active_means"] as? Double)
    }

    func testBadSettingsAreRefusedWithOneLine() throws {
        let ckpt = try trainedCheckpoint()
        let base = ["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", Tool.temporaryDirectory("lime-bad"),
                    "--iwae", "1", "--no-neighbours", "--lime"]
        for (extra, mentions, ranks) in [
            (["--lime-samples", "30"], "--lime-samples 30: expected at least as many perturbations as segments (the 49 segments of grid:4 on 28x28)", 2),
            (["--lime-kernel-width", "0"], "--lime-kernel-width", 1),
            (["--lime-segments", "grid:40"], "--lime-segments grid:40: expected a cell side of at most 28", 2),
            (["--lime-segments", "tiles"], "--lime-segments: expected grid:N", 2),
            (["--lime-baseline", "zero"], "--lime-baseline", 1),
        ] as [([String], String, Int)] {
            let result = try Tool.run(base + extra, ranks: ranks == 1 ? nil : ranks, timeout: 120)
            XCTAssertFalse(result.timedOut, "\(extra) hung")
            XCTAssertNotEqual(result.exitCode, 0, "\(extra) succeeded")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            XCTAssertEqual(errors.count, 1, "\(extra) on \(ranks) rank(s): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(mentions), "\(extra): \(result.stderr)")
        }
    }
}
