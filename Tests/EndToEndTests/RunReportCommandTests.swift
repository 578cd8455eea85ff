import Foundation
import TestSupport
import XCTest

/// What a user watching a run relies on: the epoch line and metrics.jsonl give the steps' speed
/// and the epoch's whole time apart, and the run's curves are in its report, or in one written
/// by `mpivae report` for a run without an export, whatever state its metrics file is in.
final class RunReportCommandTests: EndToEndCase {
    func records(_ run: String, kind: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["kind"] as? String == kind }
    }

    func testEpochFiguresTheExportsRunSectionAndMpivaeReport() throws {
        let out = Tool.temporaryDirectory("run-report")
        let result = try Tool.succeed(Tool.small + ["--out", out, "--epochs", "2", "--log-every", "5", "--explain-iwae", "2"], ranks: 2)
        let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }
        XCTAssertEqual(lines.count, 2, result.stdout)
        for line in lines {
            XCTAssertNotNil(line.range(of: #"  steps [0-9]+ samples/s  allreduce [0-9.]+% of step time  epoch [0-9.]+ s \(steps [0-9.]+, evaluation [0-9.]+, checkpoint [0-9.]+\)$"#,
                                       options: .regularExpression), String(line))
        }
        let epochs = try records(out, kind: "epoch")
        XCTAssertEqual(epochs.count, 2)
        for e in epochs {
            let wall = try XCTUnwrap(e["epoch_wall_seconds"] as? Double)
            let parts = try ["step_seconds", "evaluation_seconds", "checkpoint_seconds"].map { try XCTUnwrap(e[$0] as? Double, $0) }
            XCTAssertTrue(parts.allSatisfy { $0 > 0 }, "\(e)")
            XCTAssertGreaterThanOrEqual(wall, parts.reduce(0, +), "the wall time covers steps, evaluation and checkpoint: \(e)")
            let rows = try XCTUnwrap(e["train_rows"] as? Int)
            XCTAssertEqual(try XCTUnwrap(e["step_samples_per_second"] as? Double), Double(rows) / parts[0], accuracy: 1e-6 * Double(rows) / parts[0])
        }
        XCTAssertTrue(try records(out, kind: "step").contains { ($0["step_samples_per_second"] as? Double ?? 0) > 0 })

        // The export's report opens with the run.
        let exported = try String(contentsOfFile: out + "/explain/report.html", encoding: .utf8)
        XCTAssertTrue(exported.contains(">Training run</h2>"), "explain/report.html has no run section")
        XCTAssertEqual(exported.components(separatedBy: "<polyline class=\"series\"").count - 1, 9)

        // mpivae report on the run: its own report.html with the same curves.
        let report = try Tool.succeed(["report", out])
        XCTAssertTrue(report.stdout.contains("report: \(out)/report.html (2 epochs"), report.stdout)
        XCTAssertEqual(report.stderr, "")
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<polyline class=\"series\"").count - 1, 9)
        XCTAssertTrue(html.contains("explain/report.html"))

        // A run still being written: a torn last line and a damaged one are skipped with a warning.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: out + "/metrics.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data("\u{1}\u{2}garbage\n{\"kind\":\"step\",\"ste".utf8))
        handle.closeFile()
        let partial = try Tool.succeed(["report", out])
        XCTAssertEqual(partial.stderr.split(separator: "\n").count, 1, partial.stderr)
        XCTAssertTrue(partial.stderr.hasPrefix("warning: \(out)/metrics.jsonl: 1 unreadable line skipped"), partial.stderr)
        XCTAssertTrue(partial.stderr.contains("unfinished"), partial.stderr)
    }

    func testReportRefusesWhatIsNotARunWithOneLine() throws {
        let missing = Tool.temporaryDirectory("no-such-run") + "/absent"
        let a = try Tool.run(["report", missing])
        XCTAssertNotEqual(a.exitCode, 0)
        XCTAssertEqual(a.stderr.split(separator: "\n").count, 1, a.stderr)
        XCTAssertTrue(a.stderr.contains("\(missing): no such directory"), a.stderr)

        let garbage = Tool.temporaryDirectory("garbage-run")
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        var bytes = [UInt8]()
        var x: UInt32 = 12345
        for _ in 0..<5000 { x = x &* 1_103_515_245 &+ 12345; bytes.append(UInt8(truncatingIfNeeded: x >> 16)) }
        try Data(bytes).write(to: URL(fileURLWithPath: garbage + "/metrics.jsonl"))
        let b = try Tool.run(["report", garbage])
        XCTAssertNotEqual(b.exitCode, 0)
        XCTAssertFalse(b.timedOut)
        XCTAssertEqual(b.stderr.split(separator: "\n").count, 1, b.stderr)
        XCTAssertTrue(b.stderr.contains("\(garbage)/metrics.jsonl: expected one JSON object a line, found none readable"), b.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: garbage + "/report.html"))
    }
}
