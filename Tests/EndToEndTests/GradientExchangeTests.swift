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

    func testBadExchangeSettingsAreOneLine() throws {
        let bad = try Tool.run(Tool.small + ["--out", Tool.temporaryDirectory("bad-compression"), "--grad-compression", "int8"])
        XCTAssertNotEqual(bad.exitCode, 0, bad.summary)
        XCTAssertTrue(bad.stderr.contains("--grad-compression expects none|bf16|fp16, got int8"), bad.stderr)
        let negative = try Tool.run(Tool.small + ["--out", Tool.temporaryDirectory("bad-bucket"), "--grad-bucket-mb", "-1"])
        XCTAssertNotEqual(negative.exitCode, 0, negative.summary)
        XCTAssertTrue(negative.stderr.contains("--grad-bucket-mb"), negative.stderr)
    }
}
