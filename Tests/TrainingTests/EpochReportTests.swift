import Foundation
import XCTest
@testable import Training
import VAE

/// The epoch line and record keep the steps' speed and the epoch's whole cost apart, so a user
/// sees the steps slow down even when evaluation or checkpoints dominate the epoch.
final class EpochReportTests: XCTestCase {
    func report(rows: Int = 6000, test: EvaluationResult? = nil) -> EpochReport {
        EpochReport(epoch: 3, epochs: 10, globalStep: 141, rows: rows, terms: LossTerms([250 * Double(rows), 12 * Double(rows)]), termNames: ["recon", "kl"],
                    stepSeconds: 0.5, reduceSeconds: 0.05, evaluationSeconds: 0.75, checkpointSeconds: 0.25, wallSeconds: 1.6,
                    test: test, worldSize: 2)
    }

    func testStepThroughputAndWallTimeAreSeparateFields() throws {
        let test = EvaluationResult(terms: LossTerms([255, 15]), termNames: ["recon", "kl"], negLogLikelihood: nil, count: 10_000)
        let r = report(test: test)
        let record = r.record
        XCTAssertEqual(record["kind"] as? String, "epoch")
        XCTAssertEqual(record["step_samples_per_second"] as? Double, 12_000)   // 6000 rows in 0.5 s of steps
        XCTAssertEqual(record["step_seconds"] as? Double, 0.5)
        XCTAssertEqual(record["evaluation_seconds"] as? Double, 0.75)
        XCTAssertEqual(record["checkpoint_seconds"] as? Double, 0.25)
        XCTAssertEqual(record["epoch_wall_seconds"] as? Double, 1.6)
        XCTAssertEqual(record["allreduce_share"] as? Double ?? 0, 0.1, accuracy: 1e-12)
        XCTAssertEqual(record["train_neg_elbo"] as? Double, 262)
        XCTAssertEqual(record["test_neg_elbo"] as? Double, 270)
        XCTAssertNil(record["samples_per_second"], "one name for the step throughput")
        XCTAssertNotNil(try? JSONSerialization.data(withJSONObject: record))
        XCTAssertEqual(r.line, "epoch 3/10  train -ELBO 262.00  test -ELBO 270.00 (recon 255.00, KL 15.00)"
                       + "  steps 12000 samples/s  allreduce 10.0% of step time  epoch 1.60 s (steps 0.50, evaluation 0.75, checkpoint 0.25)")
    }

    func testAnEpochWithoutRowsStillWritesARecord() throws {
        // Every step skipped as non-finite: no mean, but the record must still be valid JSON.
        let record = report(rows: 0).record
        XCTAssertTrue(record["train_neg_elbo"] is NSNull)
        let data = try JSONSerialization.data(withJSONObject: record)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"train_neg_elbo\":null"))
    }

    func testStepWindowMeasuresSinceTheLastRecord() {
        var w = StepWindow()
        XCTAssertNil(w.take())
        w.add(rows: 128, seconds: 0.01); w.add(rows: 128, seconds: 0.01)
        XCTAssertEqual(w.take() ?? 0, 12_800, accuracy: 1e-6)
        w.add(rows: 64, seconds: 0.02)
        XCTAssertEqual(w.take() ?? 0, 3_200, accuracy: 1e-6)
    }
}
