import Foundation
import TestSupport
import XCTest

/// The GMVAE as a user runs it: on data with well-separated clusters it finds them, the rank
/// count does not change its trajectory, a resumed run continues bit for bit across the mixture
/// fit, and `evaluate` / `inspect` report what it is.
final class MixtureModelTests: EndToEndCase {
    /// 2000 samples of 4 clusters in batches of 100: 20 steps an epoch; the mixture is fitted at
    /// the start of epoch 11 (step 200).
    static let data = "synthetic:clusters=4,n=2000"
    static let small = ["train", "--data", data, "--model", "gmvae", "--clusters", "4", "--latent", "4", "--hidden", "64",
                        "--batch-size", "100", "--cluster-init-epoch", "10", "--seed", "3", "--no-explain"]

    func testWellSeparatedClustersAreRecovered() throws {
        let out = Tool.temporaryDirectory("gmvae-recover")
        let trained = try Tool.succeed(Self.small + ["--out", out, "--epochs", "20"], timeout: 300)
        XCTAssertTrue(trained.stdout.contains("mixture fitted to the encoder's means at the start of epoch 11"), trained.stdout)
        let result = try Tool.succeed(["evaluate", "--checkpoint", out, "--data", Self.data, "--json", "--iwae", "20"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        let accuracy = try XCTUnwrap(object["cluster_accuracy"] as? Double)
        let nmi = try XCTUnwrap(object["cluster_nmi"] as? Double)
        XCTAssertGreaterThan(accuracy, 0.95, result.stdout)
        XCTAssertGreaterThan(nmi, 0.9, result.stdout)
        XCTAssertEqual((object["cluster_sizes"] as? [Int])?.count, 4)
        let elbo = try XCTUnwrap(object["neg_elbo"] as? Double), iwae = try XCTUnwrap(object["neg_log_likelihood_iwae"] as? Double)
        XCTAssertNotNil(object["kl_z"]); XCTAssertNotNil(object["kl_y"])
        XCTAssertLessThanOrEqual(iwae, elbo + 0.5, "the IWAE bound is tighter than the ELBO")
        let text = try Tool.succeed(["evaluate", "--checkpoint", out, "--data", Self.data])
        XCTAssertTrue(text.stdout.contains("Hungarian") && text.stdout.contains("NMI"), text.stdout)
        // Refinement is for the Gaussian posteriors: the mixture's is refused in one line.
        let refused = try Tool.run(["evaluate", "--checkpoint", out, "--data", Self.data, "--refine-steps", "5"])
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--refine-steps: posterior refinement is for the Gaussian posteriors"), refused.stderr)
        let inspect = try Tool.succeed(["inspect", out])
        XCTAssertTrue(inspect.stdout.contains("model: variant gmvae, latent 4, 4 clusters"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("prior.means") && inspect.stdout.contains("prior.logvars"), inspect.stdout)
    }

    func testOneTwoAndThreeRanksFollowTheSameTrajectoryThroughTheFit() throws {
        var finals: [Int: [String: [Float]]] = [:]
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("gmvae-ranks-\(ranks)")
            try Tool.succeed(Self.small + ["--out", out, "--epochs", "12", "--max-steps", "230", "--no-eval"],
                             ranks: ranks == 1 ? nil : ranks, timeout: 300)
            finals[ranks] = try Tool.tensors(try Tool.latestCheckpoint(out))
        }
        let one = try XCTUnwrap(finals[1])
        for ranks in [2, 3] {
            // The prior's tensors too: the fit saw the same means up to rounding and chose the same clusters.
            let diff = Tool.relativeDifference(one, try XCTUnwrap(finals[ranks]), prefix: "")
            XCTAssertLessThan(diff, 5e-3, "\(ranks) ranks drifted from 1 rank by \(diff) (relative)")
            let prior = Tool.relativeDifference(one, try XCTUnwrap(finals[ranks]), prefix: "prior.")
            XCTAssertLessThan(prior, 5e-3, "\(ranks) ranks: the prior drifted by \(prior)")
        }
    }

    func testResumeAcrossTheFitIsBitForBitAtOneAndTwoRanks() throws {
        for ranks in [nil, 2] as [Int?] {
            let straight = Tool.temporaryDirectory("gmvae-straight")
            try Tool.succeed(Self.small + ["--out", straight, "--epochs", "12"], ranks: ranks, timeout: 300)
            // Stopped at the epoch boundary before the fit, and mid-epoch after it.
            for stop in ["200", "215"] {
                let split = Tool.temporaryDirectory("gmvae-split-\(stop)")
                try Tool.succeed(Self.small + ["--out", split, "--epochs", "12", "--max-steps", stop], ranks: ranks, timeout: 300)
                try Tool.succeed(["train", "--resume", split, "--max-steps", "0"], ranks: ranks, timeout: 300)
                let a = try Tool.tensorBytes(try Tool.latestCheckpoint(straight))
                let b = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
                XCTAssertEqual(a.count, b.count)
                XCTAssertTrue(a.keys.contains("optimizer.v.prior.means"))
                for (name, bytes) in a {
                    XCTAssertEqual(bytes, b[name], "\(name) differs after a resume at step \(stop) on \(ranks ?? 1) rank(s)")
                }
            }
        }
    }

    /// `--prior-covariance full`: the clusters are found, the rank count does not change the
    /// trajectory through the fit, a resume after the fit continues bit for bit (the resume at
    /// other rank counts is the generic checkpoint tests' and the test above's), the checkpoint
    /// and `inspect` name the precision factors, and the export draws from them.
    func testFullCovarianceComponentsClusterOnAnyRankCountAndResume() throws {
        let full = Self.small + ["--prior-covariance", "full"]
        var finals: [Int: [String: [Float]]] = [:]
        for ranks in [1, 2] {
            let out = Tool.temporaryDirectory("gmvae-full-\(ranks)")
            let trained = try Tool.succeed(full + ["--out", out, "--epochs", "12", "--max-steps", "230", "--no-eval"],
                                           ranks: ranks == 1 ? nil : ranks, timeout: 300)
            XCTAssertTrue(trained.stdout.contains("on the training labels accuracy 1.000"), trained.stdout)
            finals[ranks] = try Tool.tensors(try Tool.latestCheckpoint(out))
        }
        let one = try XCTUnwrap(finals[1]), two = try XCTUnwrap(finals[2])
        XCTAssertEqual(one["prior.precision_cholesky"]?.count, 4 * 4 * 4)
        XCTAssertNil(one["prior.logvars"])
        XCTAssertLessThan(Tool.relativeDifference(one, two, prefix: ""), 5e-3, "2 ranks drifted from 1 rank")
        XCTAssertLessThan(Tool.relativeDifference(one, two, prefix: "prior."), 5e-3, "2 ranks: the prior drifted")

        let straight = Tool.temporaryDirectory("gmvae-full-straight")
        try Tool.succeed(full + ["--out", straight, "--epochs", "12"], timeout: 300)
        let split = Tool.temporaryDirectory("gmvae-full-split")
        try Tool.succeed(full + ["--out", split, "--epochs", "12", "--max-steps", "215"], timeout: 300)
        try Tool.succeed(["train", "--resume", split, "--max-steps", "0"], timeout: 300)
        let a = try Tool.tensorBytes(try Tool.latestCheckpoint(straight)), b = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
        XCTAssertTrue(a.keys.contains("optimizer.v.prior.precision_cholesky"))
        for (name, bytes) in a { XCTAssertTrue(bytes == b[name], "\(name) differs after a resume at step 215") }

        let result = try Tool.succeed(["evaluate", "--checkpoint", straight, "--data", Self.data, "--json", "--iwae", "20"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        XCTAssertGreaterThan(try XCTUnwrap(object["cluster_accuracy"] as? Double), 0.95, result.stdout)
        let inspect = try Tool.succeed(["inspect", straight])
        XCTAssertTrue(inspect.stdout.contains("model: variant gmvae, latent 4, 4 clusters, full-covariance components"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("prior.precision_cholesky"), inspect.stdout)
        let exported = Tool.temporaryDirectory("gmvae-full-explain")
        try Tool.succeed(["explain", "--checkpoint", straight, "--data", Self.data, "--out", exported, "--iwae", "5"], timeout: 300)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: exported + "/summary.json"))) as? [String: Any])
        let clusters = try XCTUnwrap(summary["clusters"] as? [String: Any], "\(summary.keys)")
        XCTAssertEqual(clusters["sample_source"] as? String, "prior.means, prior.precision_cholesky")
        XCTAssertTrue(FileManager.default.fileExists(atPath: exported + "/cluster_samples.png"))

        let refused = try Tool.run(["train", "--data", Self.data, "--prior-covariance", "full", "--epochs", "1",
                                    "--out", Tool.temporaryDirectory("gmvae-full-refused")])
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--prior-covariance expects the gmvae model"), refused.stderr)
    }
}
