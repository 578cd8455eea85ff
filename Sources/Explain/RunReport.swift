import Foundation

/// `report.html` of a run directory on its own: the training run's section, for a run without an
/// explanation export or one still going. The explanation export's report has the same section.
public enum RunReport {
    /// Writes `runDirectory/report.html` and returns its path and what was read.
    public static func write(runDirectory dir: String) throws -> (path: String, metrics: RunMetrics) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) else {
            throw ExplainError("report \(dir): no such directory; expected a run directory (with metrics.jsonl)")
        }
        guard isDirectory.boolValue else {
            throw ExplainError("report \(dir): a file, not a run directory (expected a directory with metrics.jsonl)")
        }
        let path = dir + "/metrics.jsonl"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExplainError("report \(dir): not a run directory (no metrics.jsonl in it)")
        }
        let metrics = try RunMetrics(path: path)
        if metrics.records == 0 && !metrics.unreadableLines.isEmpty {
            throw ExplainError("report \(path): expected one JSON object a line, found none readable in \(metrics.unreadableLines.count) line\(metrics.unreadableLines.count == 1 ? "" : "s")")
        }
        var r = HTMLReport(title: "Training run: \((dir as NSString).standardizingPath)")
        RunSection.add(to: &r, metrics: metrics, path: path)
        let explain = dir + "/explain"
        if FileManager.default.fileExists(atPath: explain + "/summary.json") {
            r.paragraph("The explanation export of this run, with this section too: explain/report.html.")
        }
        let out = dir + "/report.html"
        try r.write(to: out)
        return (out, metrics)
    }
}
