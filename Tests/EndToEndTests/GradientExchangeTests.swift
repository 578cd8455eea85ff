import TestSupport
import XCTest

/// What a user choosing `--grad-bucket-mb` or `--grad-compression` relies on: buckets change when
/// gradients travel, not what arrives; 16-bit gradients train the same model to within rounding.
final class GradientExchangeTests: EndToEndCase {
    static let steps = ["--epochs", "100", "--max-steps", "60", "--no-eval", "--no-explain"]

    private func finalTensors(_ extra: [String], ranks: Int?) throws -> [String: [UInt8]] {
        let out = Tool.temporaryDirectory("exchange")
        try Tool.succeed(Tool.small + Self.steps + ["--out", out] + extra, ranks: ranks, timeout: 120)
        return try Tool.tensorBytes(try Tool.latestCheckpoint(out))
    }

    func testBucketsGiveTheFusedResultBitForBitOnTwoRanks() throws {
        // On two ranks every element is a + b either way, so the bits cannot differ; many small
        // buckets (about 500 floats) exercise the overlap with every layer.
        let fused = try finalTensors([], ranks: 2)
        let bucketed = try finalTensors(["--grad-bucket-mb", "0.002"], ranks: 2)
        XCTAssertEqual(fused.keys.sorted(), bucketed.keys.sorted())
        for (name, bytes) in fused { XCTAssertEqual(bucketed[name], bytes, "\(name) differs with buckets") }
    }

    func testSixteenBitGradientsFollowTheFP32TrajectoryClosely() throws {
        let out = Tool.temporaryDirectory("exchange-fp32")
        try Tool.succeed(Tool.small + Self.steps + ["--out", out], ranks: 2, timeout: 120)
        let reference = try Tool.tensors(try Tool.latestCheckpoint(out))
        for format in ["bf16", "fp16"] {
            let run = Tool.temporaryDirectory("exchange-\(format)")
            try Tool.succeed(Tool.small + Self.steps + ["--out", run, "--grad-compression", format, "--grad-bucket-mb", "0.004"],
                             ranks: 2, timeout: 120)
            let got = try Tool.tensors(try Tool.latestCheckpoint(run))
            let diff = Tool.relativeDifference(reference, got, prefix: "encoder")
            // Adam normalizes each step, so 16-bit rounding of gradients (2^-8 relative for bf16,
            // 2^-11 for fp16) moves parameters by a small fraction of the learning rate a step.
            XCTAssertLessThan(diff, 0.05, "\(format): parameters drifted from fp32 by \(diff) (relative)")
            XCTAssertGreaterThan(diff, 0, "\(format) produced exactly the fp32 result: were 16 bits sent at all?")
        }
    }

    func testLowRankGradientsFollowTheSameTrajectoryOnAnyRankCount() throws {
        // Only the residuals' sum enters later steps, so 1, 2 and 3 ranks part by rounding alone
        // (measured 5e-7 relative after 60 steps); the factored exchange itself is far from fp32.
        var runs: [Int: [String: [Float]]] = [:]
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("lowrank-\(ranks)")
            let result = try Tool.succeed(Tool.small + Self.steps + ["--out", out, "--grad-low-rank", "2"], ranks: ranks, timeout: 120)
            XCTAssertTrue(result.stdout.contains("gradients sent as rank-2 factors"), result.stdout)
            runs[ranks] = try Tool.tensors(try Tool.latestCheckpoint(out))
        }
        XCTAssertTrue(runs[1]!.keys.contains("optimizer.lowrank.q.encoder.0.weight"), "\(runs[1]!.keys.sorted())")
        for ranks in [2, 3] {
            let diff = Tool.relativeDifference(runs[1]!, runs[ranks]!, prefix: "encoder")
            XCTAssertLessThan(diff, 1e-4, "\(ranks) ranks drifted from one by \(diff)")
        }
        let plain = Tool.temporaryDirectory("lowrank-plain")
        try Tool.succeed(Tool.small + Self.steps + ["--out", plain], ranks: 1, timeout: 120)
        XCTAssertGreaterThan(Tool.relativeDifference(try Tool.tensors(try Tool.latestCheckpoint(plain)), runs[1]!, prefix: "encoder"), 1e-3,
                             "the low-rank run matched the full exchange: were factors sent at all?")
    }

    func testLowRankStateResumesOnAnyRankCount() throws {
        let steps = ["--epochs", "100", "--no-eval", "--no-explain", "--grad-low-rank", "2"]
        let whole = Tool.temporaryDirectory("lowrank-whole")
        try Tool.succeed(Tool.small + steps + ["--out", whole, "--max-steps", "60"], ranks: 1, timeout: 120)
        let reference = try Tool.tensorBytes(try Tool.latestCheckpoint(whole))
        // One rank to one rank: the saved residual and Q are that rank's own, so bit for bit.
        let split = Tool.temporaryDirectory("lowrank-split")
        try Tool.succeed(Tool.small + steps + ["--out", split, "--max-steps", "30"], ranks: 1, timeout: 120)
        let resumed = try Tool.succeed(["train", "--resume", split] + steps + ["--max-steps", "60"], ranks: 1, timeout: 120)
        XCTAssertFalse(resumed.stdout.contains("low-rank state"), resumed.stdout)
        let got = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
        for (name, bytes) in reference { XCTAssertEqual(got[name], bytes, "\(name) differs after resuming on one rank") }
        // Three ranks to two: the residuals' sum moves to rank 0, so rounding apart.
        let wide = Tool.temporaryDirectory("lowrank-wide")
        try Tool.succeed(Tool.small + steps + ["--out", wide, "--max-steps", "30"], ranks: 3, timeout: 120)
        try Tool.succeed(["train", "--resume", wide] + steps + ["--max-steps", "60"], ranks: 2, timeout: 120)
        let diff = Tool.relativeDifference(try Tool.tensors(try Tool.latestCheckpoint(whole)), try Tool.tensors(try Tool.latestCheckpoint(wide)),
                                           prefix: "encoder")
        XCTAssertLessThan(diff, 1e-4, "3 ranks resumed on 2 drifted from one rank by \(diff)")
        // A run saved without factors resumes with them from a zero residual, and says so.
        let plain = Tool.temporaryDirectory("lowrank-from-plain")
        try Tool.succeed(Tool.small + ["--epochs", "100", "--no-eval", "--no-explain", "--out", plain, "--max-steps", "30"], ranks: 1, timeout: 120)
        let switched = try Tool.succeed(["train", "--resume", plain] + steps + ["--max-steps", "40"], ranks: 1, timeout: 120)
        XCTAssertTrue(switched.stdout.contains("holds no low-rank state"), switched.stdout)
    }

    func testBadExchangeSettingsAreOneLine() throws {
        for (extra, expected) in [(["--grad-low-rank", "-1"], "--grad-low-rank expects a whole number from 0 (off) to 64"),
                                  (["--grad-low-rank", "2", "--shard-optimizer"], "--grad-low-rank expects the fused fp32 exchange beside it"),
                                  (["--grad-low-rank", "2", "--grad-compression", "bf16"], "got --grad-compression bf16")] {
            let r = try Tool.run(Tool.small + ["--out", Tool.temporaryDirectory("bad-lowrank")] + extra)
            XCTAssertNotEqual(r.exitCode, 0, r.summary)
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        let bad = try Tool.run(Tool.small + ["--out", Tool.temporaryDirectory("bad-compression"), "--grad-compression", "int8"])
        XCTAssertNotEqual(bad.exitCode, 0, bad.summary)
        XCTAssertTrue(bad.stderr.contains("--grad-compression expects none|bf16|fp16, got int8"), bad.stderr)
        let negative = try Tool.run(Tool.small + ["--out", Tool.temporaryDirectory("bad-bucket"), "--grad-bucket-mb", "-1"])
        XCTAssertNotEqual(negative.exitCode, 0, negative.summary)
        XCTAssertTrue(negative.stderr.contains("--grad-bucket-mb"), negative.stderr)
    }
}
