import Foundation
import XCTest
@testable import Explain

/// A metrics.jsonl as `mpivae train` writes it: startup, step records every 10 steps, an epoch
/// record and a checkpoint record per epoch.
enum MetricsFixture {
    static func lines(epochs: Int, stepsPerEpoch: Int = 20) -> [String] {
        var lines = [#"{"data_seconds":0.2,"kind":"startup","seconds_to_first_step":0.5}"#]
        for e in 1...max(epochs, 1) where epochs > 0 {
            for s in stride(from: 10, through: stepsPerEpoch, by: 10) {
                let step = (e - 1) * stepsPerEpoch + s
                lines.append(#"{"epoch":\#(e),"kind":"step","kl":9.5,"kl_weight":1,"neg_elbo":\#(300 - step),"recon":\#(290 - step),"step":\#(step),"step_samples_per_second":\#(20000 - 50 * step)}"#)
            }
            let step = e * stepsPerEpoch
            lines.append(#"{"allreduce_share":0.0\#(e),"checkpoint_seconds":0.02,"epoch":\#(e),"epoch_wall_seconds":\#(1.5 + Double(e) * 0.1),"evaluation_seconds":0.3,"kind":"epoch","step":\#(step),"step_samples_per_second":\#(19000 - 500 * e),"step_seconds":1.1,"test_kl":\#(11 + e),"test_neg_elbo":\#(280 - e),"test_recon":\#(269 - 2 * e),"train_kl":\#(10 + e),"train_neg_elbo":\#(290 - 3 * e),"train_recon":\#(280 - 4 * e),"train_rows":1000,"world_size":2}"#)
            lines.append(#"{"epoch":\#(e),"kind":"checkpoint","path":"ckpt","seconds":0.02,"step":\#(step)}"#)
        }
        return lines
    }

    static func text(epochs: Int) -> String { lines(epochs: epochs).joined(separator: "\n") + "\n" }
}

final class RunReportTests: XCTestCase {
    func testMetricsAreReadLenientlyAndInOrder() {
        var lines = MetricsFixture.lines(epochs: 3)
        lines.insert("this is not json", at: 2)
        lines.insert(#"{"kind":"epoch","epoch":"two"}"#, at: 4)      // an epoch record without a number
        lines.insert(#"[1, 2, 3]"#, at: 5)                              // JSON, but not a record
        // A resumed run records epoch 2 again; the later record wins. And an older run's field name.
        lines.append(#"{"kind":"epoch","epoch":2,"step":40,"samples_per_second":1234,"train_neg_elbo":250}"#)
        let text = lines.joined(separator: "\n") + "\n" + #"{"kind":"step","st"#   // the line being written
        let m = RunMetrics(parsing: Data(text.utf8))
        XCTAssertEqual(m.epochs.map(\.epoch), [1, 2, 3])
        XCTAssertEqual(m.epochs[1].stepSamplesPerSecond, 1234)
        XCTAssertEqual(m.epochs[1].trainNegELBO, 250)
        XCTAssertNil(m.epochs[1].testNegELBO)
        XCTAssertEqual(m.epochs[2].wallSeconds ?? 0, 1.8, accuracy: 1e-12)
        XCTAssertEqual(m.epochs[2].allreduceShare, 0.03)
        XCTAssertEqual(m.steps.map(\.step), [10, 20, 30, 40, 50, 60])
        XCTAssertEqual(m.unreadableLines, [3, 5, 6])
        XCTAssertTrue(m.unfinishedLastLine)
        let problems = try? XCTUnwrap(m.problems)
        XCTAssertTrue(problems?.contains("3 unreadable lines skipped (lines 3, 5, 6") == true, problems ?? "")
        XCTAssertTrue(problems?.contains("unfinished") == true, problems ?? "")

        // Whatever the bytes, reading never traps.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let junk = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let g = RunMetrics(parsing: Data(junk))
            XCTAssertTrue(g.epochs.isEmpty)
        }
        XCTAssertEqual(RunMetrics(parsing: Data()).records, 0)
        XCTAssertNil(RunMetrics(parsing: Data()).problems)
    }

    func testRunSectionDrawsEachCurve() {
        var r = HTMLReport(title: "run")
        RunSection.add(to: &r, metrics: RunMetrics(parsing: Data(MetricsFixture.text(epochs: 4).utf8)), path: "/x/<metrics>.jsonl")
        let html = r.render()
        XCTAssertTrue(html.contains(">Training run</h2>"))
        XCTAssertTrue(html.contains("/x/&lt;metrics&gt;.jsonl"))
        let names = html.components(separatedBy: "<polyline class=\"series\" data-name=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(names, ["train -ELBO", "test -ELBO", "train recon", "test recon", "train KL", "test KL",
                               "each --log-every", "epoch mean", "allreduce"])
        // A polyline per series with a point per epoch (or step record).
        let first = html.components(separatedBy: "points=\"")[1].prefix { $0 != "\"" }
        XCTAssertEqual(first.split(separator: " ").count, 4)
        XCTAssertTrue(html.contains("18500 samples/s in the first epoch, 17000 in the last (0.92 of the first)"), html)
        XCTAssertEqual(html.components(separatedBy: "<tr>").count - 1, 1 + 4)   // header + one row an epoch

        var empty = HTMLReport(title: "run")
        RunSection.add(to: &empty, metrics: RunMetrics(parsing: Data(MetricsFixture.text(epochs: 0).utf8)), path: "m")
        XCTAssertTrue(empty.render().contains("No epoch or step has been recorded yet"))
        XCTAssertFalse(empty.render().contains("<svg"))

        var missing = HTMLReport(title: "run")
        RunSection.add(to: &missing, metricsPath: "/nonexistent/metrics.jsonl")
        XCTAssertTrue(missing.render().contains("No curves: /nonexistent/metrics.jsonl: no metrics file there"))
    }

    func testRunReportWritesAReportOrOneClearError() throws {
        let dir = try temporaryDirectory(self)
        try MetricsFixture.text(epochs: 2).write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        let (path, metrics) = try RunReport.write(runDirectory: dir)
        XCTAssertEqual(path, dir + "/report.html")
        XCTAssertEqual(metrics.epochs.count, 2)
        let html = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(html.contains(">Training run</h2>"))
        XCTAssertEqual(html.components(separatedBy: "<polyline").count - 1, 9)

        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        let missing = message { _ = try RunReport.write(runDirectory: dir + "/nope") }
        XCTAssertEqual(missing, "report \(dir)/nope: no such directory; expected a run directory (with metrics.jsonl)")
        let empty = try temporaryDirectory(self)
        XCTAssertEqual(message { _ = try RunReport.write(runDirectory: empty) }, "report \(empty): not a run directory (no metrics.jsonl in it)")
        try Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: empty + "/metrics.jsonl"))
        let garbage = message { _ = try RunReport.write(runDirectory: empty) }
        XCTAssertTrue(garbage.hasPrefix("report \(empty)/metrics.jsonl: expected one JSON object a line, found none readable in "), garbage)
        XCTAssertFalse(garbage.contains("\n"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty + "/report.html"))
    }
}
