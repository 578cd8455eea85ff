import Foundation
import TestSupport
import XCTest

/// A convolutional VAE as a user drives it: trained on 1, 2 and 3 ranks along the same path,
/// resumed bit for bit, evaluated and explained; bad architectures refused before training.
final class ConvolutionalModelTests: EndToEndCase {
    static let conv = ["train", "--data", "synthetic:n=600", "--latent", "3", "--batch-size", "60", "--seed", "5",
                       "--encoder", "conv:4k4s2,pool:k3s2p1,conv:6k3s1,dense:16",
                       "--decoder", "dense:16,convT:6k4s2,convT:4k4s2"]

    func testOneTwoAndThreeRanksFollowTheSameTrajectory() throws {
        var finals: [Int: [String: [Float]]] = [:]
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("conv-equivalence-\(ranks)")
            try Tool.succeed(Self.conv + ["--out", out, "--epochs", "100", "--max-steps", "30", "--no-eval", "--no-explain"],
                             ranks: ranks == 1 ? nil : ranks)
            finals[ranks] = try Tool.tensors(try Tool.latestCheckpoint(out))
        }
        let one = try XCTUnwrap(finals[1])
        XCTAssertEqual(one["encoder.0.weight"]?.count, 4 * 1 * 4 * 4)
        XCTAssertEqual(one["decoder.2.weight"]?.count, 6 * 4 * 4 * 4)
        // Each rank's share changes the GEMMs' long dimension (rows x pixels), so only rounding
        // differs: the same tolerance as the MLP's.
        for ranks in [2, 3] {
            let diff = Tool.relativeDifference(one, try XCTUnwrap(finals[ranks]), prefix: "")
            XCTAssertLessThan(diff, 2e-3, "\(ranks) ranks drifted from 1 rank by \(diff) (relative)")
        }
    }

    func testResumeIsBitForBitThenEvaluateAndExplain() throws {
        let straight = Tool.temporaryDirectory("conv-straight")
        try Tool.succeed(Self.conv + ["--out", straight, "--epochs", "2", "--no-explain"], ranks: 2)
        let split = Tool.temporaryDirectory("conv-split")
        try Tool.succeed(Self.conv + ["--out", split, "--epochs", "1", "--no-explain"], ranks: 2)
        try Tool.succeed(["train", "--resume", split, "--epochs", "2"], ranks: 2)
        let a = try Tool.tensorBytes(try Tool.latestCheckpoint(straight))
        let b = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], "\(name) differs after resume") }

        let ckpt = try Tool.latestCheckpoint(straight)
        let evaluated = try Tool.succeed(["evaluate", "--checkpoint", ckpt, "--data", "synthetic:n=600", "--iwae", "5"])
        XCTAssertTrue(evaluated.stdout.contains("-ELBO"), evaluated.stdout)
        let out = Tool.temporaryDirectory("conv-explain")
        try Tool.succeed(["explain", "--checkpoint", ckpt, "--data", "synthetic:n=600", "--out", out, "--iwae", "5"], ranks: 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertTrue(files.contains("summary.json"), "\(files)")
        XCTAssertTrue(files.contains { $0.contains("saliency") }, "\(files)")
        XCTAssertTrue(files.contains { $0.contains("occlusion") }, "\(files)")
    }

    func testBadArchitecturesAreOneLineBeforeTraining() throws {
        let out = Tool.temporaryDirectory("conv-bad")
        for (args, says) in [
            (["--encoder", "conv:4k4"], "--encoder \"conv:4k4\": no stride (s)"),
            (["--encoder", "conv:4k4s2,conv:4k4s2,conv:4k4s2,conv:4k4s2,conv:4k4s2"],
             "a 4x4 kernel does not fit the 4x1x1 input (padding 1)"),
            (["--decoder", "dense:8,convT:4k4s2o0,convT:4k5s2o0"], "--decoder convT:4k5s2o0: no input side gives 1x28x28"),
            (["--architecture", "resnet"], "--architecture expects mlp|conv|alexnet"),
        ] {
            let result = try Tool.run(["train", "--data", "synthetic:n=600", "--out", out, "--epochs", "1"] + args)
            XCTAssertNotEqual(result.exitCode, 0, result.summary)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(says), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/config.json"))
        }
    }
}
