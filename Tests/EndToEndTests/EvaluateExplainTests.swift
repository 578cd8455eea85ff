import Datasets
import Foundation
import TestSupport
import XCTest

final class EvaluateExplainTests: EndToEndCase {
    static var trained: String?

    /// One small trained run shared by the tests here.
    func trainedCheckpoint() throws -> String {
        if let path = Self.trained { return path }
        let out = Tool.temporaryDirectory("evaluate")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "3", "--no-explain"])
        let path = try Tool.latestCheckpoint(out)
        Self.trained = path
        return path
    }

    func evaluate(_ args: [String], ranks: Int?) throws -> [String: Any] {
        let result = try Tool.succeed(["evaluate", "--json"] + args, ranks: ranks)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func testEvaluateAgreesAcrossRankCountsAndBoundsMatch() throws {
        let ckpt = try trainedCheckpoint()
        let one = try evaluate(["--checkpoint", ckpt, "--data", "synthetic:n=1000", "--iwae", "20"], ranks: nil)
        let three = try evaluate(["--checkpoint", ckpt, "--data", "synthetic:n=1000", "--iwae", "20"], ranks: 3)
        // Exact: every sample is computed in its canonical block on any rank count, with the same
        // BLAS kernel and one BLAS thread in both runs (the launcher sets it), and the means add
        // block sums in block order (see EvaluationBlocks and DistributedEvaluation).
        for key in ["neg_elbo", "recon", "kl", "neg_log_likelihood_iwae"] {
            let a = try XCTUnwrap(one[key] as? Double, key), b = try XCTUnwrap(three[key] as? Double, key)
            XCTAssertEqual(a.bitPattern, b.bitPattern, "\(key): \(a) on 1 rank, \(b) on 3")
        }
        let elbo1 = try XCTUnwrap(one["neg_elbo"] as? Double)
        let nll = try XCTUnwrap(one["neg_log_likelihood_iwae"] as? Double)
        // IWAE is a tighter bound: -log p(x) estimate below -ELBO on average.
        XCTAssertLessThan(nll, elbo1)
        XCTAssertEqual(one["count"] as? Int, 166)
    }

    func testExplanationArraysMatchAtOneAndTwoRanks() throws {
        let ckpt = try trainedCheckpoint()
        var arrays: [Int: [String: NPYArray]] = [:]
        for ranks in [1, 2] {
            let out = Tool.temporaryDirectory("explain-\(ranks)")
            let result = try Tool.succeed(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out,
                                           "--iwae", "10", "--sample", "3"], ranks: ranks == 1 ? nil : ranks)
            XCTAssertTrue(result.stdout.contains("report.html"), result.stdout)
            var loaded: [String: NPYArray] = [:]
            for name in ["mu", "logvar", "kl_per_dim", "neg_elbo", "recon", "neg_log_px_iwae", "labels"] {
                loaded[name] = try NPYReader.read(path: "\(out)/\(name).npy")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/report.html"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/summary.json"))
            arrays[ranks] = loaded
        }
        // Exact, for the reason above: the shards are whole blocks and a sample's products do not
        // depend on the shard it is in.
        let a = try XCTUnwrap(arrays[1]), b = try XCTUnwrap(arrays[2])
        XCTAssertEqual(a["mu"]?.shape, [166, 3])
        XCTAssertEqual(a["neg_elbo"]?.shape, [166])
        for (name, x) in a {
            let y = try XCTUnwrap(b[name])
            XCTAssertEqual(x.shape, y.shape, name)
            let xs = x.floats(), ys = y.floats()
            for i in xs.indices where xs[i].bitPattern != ys[i].bitPattern {
                XCTFail("\(name)[\(i)]: \(xs[i]) on 1 rank, \(ys[i]) on 2")
                break
            }
        }
    }
}
