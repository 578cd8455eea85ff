import Datasets
import Foundation
import TestSupport
import XCTest

/// `mpivae explain` on a trained Gaussian-mixture checkpoint: the responsibilities and the
/// clusters built from them are the same whether one rank or two encode the samples.
final class ClusterExplainTests: EndToEndCase {
    func testClustersAreTheSameAtOneAndTwoRanks() throws {
        let run = Tool.temporaryDirectory("gmvae-explain")
        // The mixture is fitted to the encoder's means at the start of epoch 1, so the last epoch
        // trains distinct components.
        try Tool.succeed(Tool.small + ["--model", "gmvae", "--clusters", "4", "--cluster-init-epoch", "1",
                                       "--out", run, "--epochs", "2", "--no-explain"])
        let ckpt = try Tool.latestCheckpoint(run)
        var responsibilities: [Int: NPYArray] = [:]
        var clusters: [Int: [String: Any]] = [:]
        for ranks in [1, 2] {
            let out = Tool.temporaryDirectory("gmvae-explain-\(ranks)")
            try Tool.succeed(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=1000", "--out", out, "--iwae", "2",
                              "--sample", "3"], ranks: ranks == 1 ? nil : ranks)
            responsibilities[ranks] = try NPYReader.read(path: out + "/responsibilities.npy")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
            let summary = try XCTUnwrap(json as? [String: Any])
            clusters[ranks] = try XCTUnwrap(summary["clusters"] as? [String: Any])
            let sample = try XCTUnwrap((summary["samples"] as? [[String: Any]])?.first)
            XCTAssertNotNil(sample["cluster"] as? Int)
            for f in ["clusters.csv", "cluster_labels.csv", "cluster_prototypes.png", "cluster_samples.png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
            }
            let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
            XCTAssertTrue(html.contains(">Clusters</h2>"))
        }
        let a = try XCTUnwrap(responsibilities[1]), b = try XCTUnwrap(responsibilities[2])
        XCTAssertEqual(a.shape, [166, 4])
        XCTAssertEqual(a.shape, b.shape)
        // Exact: each sample's encoding is its canonical block's on any rank count.
        XCTAssertEqual(a.floats().map(\.bitPattern), b.floats().map(\.bitPattern))
        let one = try XCTUnwrap(clusters[1]), two = try XCTUnwrap(clusters[2])
        XCTAssertEqual(one["sizes"] as? [Int], two["sizes"] as? [Int])
        XCTAssertEqual((one["sizes"] as? [Int])?.reduce(0, +), 166)
        XCTAssertEqual(one["label_table"] as? [[Int]], two["label_table"] as? [[Int]])
        XCTAssertEqual(one["accuracy"] as? Double, two["accuracy"] as? Double)
        XCTAssertNotNil(one["nmi"] as? Double)
    }
}
