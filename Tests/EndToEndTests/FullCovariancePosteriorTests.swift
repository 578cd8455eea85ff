import Foundation
import TestSupport
import XCTest

/// The full-covariance posterior as a user drives it: `--posterior full` trained on 1, 2 and 3
/// ranks along the same path, resumed bit for bit, its setting kept in the checkpoint and shown by
/// inspect, evaluated with the ELBO-IWAE gap, and explained with its posterior correlations.
final class FullCovariancePosteriorTests: EndToEndCase {
    static let full = Tool.small + ["--posterior", "full"]

    func testOneTwoAndThreeRanksFollowTheSameTrajectory() throws {
        var finals: [Int: [String: [Float]]] = [:]
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("fullcov-equivalence-\(ranks)")
            // The correlations train from the first step (no hold), so the lower head is exercised.
            try Tool.succeed(Self.full + ["--out", out, "--epochs", "100", "--max-steps", "30", "--correlation-hold-epochs", "0",
                                          "--no-eval", "--no-explain"],
                             ranks: ranks == 1 ? nil : ranks, timeout: 300)
            finals[ranks] = try Tool.tensors(try Tool.latestCheckpoint(out))
        }
        let one = try XCTUnwrap(finals[1])
        // latent 3: 3 lower entries, the head one [3 + 3 + 3, 48] product.
        XCTAssertEqual(one["encoder.lower.weight"]?.count, 3 * 48)
        XCTAssertEqual(one["encoder.logvar.bias"]?.count, 3)
        XCTAssertNil(one["encoder.logdiag.weight"])
        XCTAssertGreaterThan(one["encoder.lower.weight"]!.map(abs).max()!, 0, "the lower head learned from zero")
        // Each rank's share changes the GEMMs' long dimension, so only rounding differs: the
        // tolerance of the diagonal model's equivalence test.
        for ranks in [2, 3] {
            let diff = Tool.relativeDifference(one, try XCTUnwrap(finals[ranks]))
            XCTAssertLessThan(diff, 2e-3, "\(ranks) ranks drifted from 1 rank by \(diff) (relative)")
        }
    }

    func testResumeIsBitForBitThenInspectEvaluateAndExplain() throws {
        // The correlations held through epoch 1 and released in epoch 2: the resumed run picks the
        // hold up from its saved settings and releases U where the straight run does.
        let hold = ["--correlation-hold-epochs", "1"]
        let straight = Tool.temporaryDirectory("fullcov-straight")
        try Tool.succeed(Self.full + hold + ["--out", straight, "--epochs", "2", "--no-explain"], ranks: 2, timeout: 300)
        let split = Tool.temporaryDirectory("fullcov-split")
        try Tool.succeed(Self.full + hold + ["--out", split, "--epochs", "1", "--no-explain"], ranks: 2, timeout: 300)
        let held = try Tool.tensors(try Tool.latestCheckpoint(split))
        XCTAssertTrue(try XCTUnwrap(held["encoder.lower.weight"]).allSatisfy { $0 == 0 }, "U is held through epoch 1")
        // The resumed run takes the posterior from its saved settings, not from a flag.
        try Tool.succeed(["train", "--resume", split, "--epochs", "2", "--no-explain"], ranks: 2, timeout: 300)
        let a = try Tool.tensorBytes(try Tool.latestCheckpoint(straight))
        let b = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        XCTAssertTrue(a.keys.contains("optimizer.m.encoder.lower.weight"))
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], "\(name) differs after resume") }
        let released = try Tool.tensors(try Tool.latestCheckpoint(straight))
        XCTAssertGreaterThan(try XCTUnwrap(released["encoder.lower.weight"]).map(abs).max()!, 0, "U trains in epoch 2")

        let ckpt = try Tool.latestCheckpoint(straight)
        let inspected = try Tool.succeed(["inspect", ckpt])
        XCTAssertTrue(inspected.stdout.contains("\nposterior: full\n"), inspected.stdout)
        let evaluated = try Tool.succeed(["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--iwae", "20"])
        XCTAssertTrue(evaluated.stdout.contains("gap: -ELBO - IWAE bound = "), evaluated.stdout)
        let json = try Tool.succeed(["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--iwae", "20", "--json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let negELBO = try XCTUnwrap(object["neg_elbo"] as? Double), nll = try XCTUnwrap(object["neg_log_likelihood_iwae"] as? Double)
        XCTAssertEqual(try XCTUnwrap(object["elbo_iwae_gap"] as? Double), negELBO - nll, accuracy: 1e-9)
        XCTAssertGreaterThan(negELBO - nll, 0, "K = 20 importance samples tighten the bound")
        // Each sample's posterior refined from the encoder's output: the same figures on 1 and 2
        // ranks (a sample's steps run at its own row of its own block), and a smaller gap.
        var refined: [Int: [String: Any]] = [:]
        for ranks in [1, 2] {
            let r = try Tool.succeed(["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--iwae", "20",
                                      "--refine-steps", "100", "--refine-samples", "2", "--json"],
                                     ranks: ranks == 1 ? nil : ranks, timeout: 300)
            refined[ranks] = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        }
        for key in ["neg_elbo", "neg_log_likelihood_iwae", "kl", "recon"] {
            XCTAssertEqual(refined[1]?[key] as? Double, refined[2]?[key] as? Double, "\(key) differs between 1 and 2 ranks")
        }
        XCTAssertEqual(refined[1]?["refine_steps"] as? Int, 100)
        XCTAssertEqual(refined[1]?["refine_lr"] as? Double, 0.01)
        let refinedGap = try XCTUnwrap(refined[1]?["elbo_iwae_gap"] as? Double)
        XCTAssertLessThan(refinedGap, negELBO - nll, "refinement closes part of the gap")
        XCTAssertLessThan(try XCTUnwrap(refined[1]?["neg_elbo"] as? Double), negELBO, "refinement lowers the -ELBO")
        for (flag, value, message) in [("--refine-samples", "9", "--refine-samples expects a whole number from 1 to 8, got 9"),
                                       ("--refine-lr", "0", "--refine-lr expects a number above 0 and at most 10, got 0.0")] {
            let bad = try Tool.run(["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--refine-steps", "3", flag, value])
            XCTAssertNotEqual(bad.exitCode, 0, bad.summary)
            XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
            XCTAssertTrue(bad.stderr.contains(message), bad.stderr)
        }

        let out = Tool.temporaryDirectory("fullcov-explain")
        try Tool.succeed(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out, "--iwae", "5",
                          "--sample", "3"], ranks: 2, timeout: 300)
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        for f in ["posterior_correlation.npy", "posterior_correlation_mean.npy", "posterior_correlation.png"] {
            XCTAssertTrue(files.contains(f), "\(f) missing from \(files)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/samples/3/principal_axes.png"))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let corr = try XCTUnwrap(summary["posterior_correlation"] as? [String: Any], "summary.json has posterior_correlation")
        let active = try XCTUnwrap(corr["active_dimensions"] as? [Int])
        let pairs = try XCTUnwrap(corr["top_pairs"] as? [[String: Any]])
        XCTAssertEqual(pairs.count, min(10, active.count * (active.count - 1) / 2))
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(report.contains("Posterior correlations"))
        XCTAssertTrue(report.contains("Principal axes of shown samples"))
    }

    func testABadPosteriorIsOneLineBeforeTraining() throws {
        let out = Tool.temporaryDirectory("fullcov-bad")
        let result = try Tool.run(Tool.small + ["--out", out, "--epochs", "1", "--posterior", "wide"])
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("--posterior expects diagonal|full, got wide"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/config.json"))
    }
}
