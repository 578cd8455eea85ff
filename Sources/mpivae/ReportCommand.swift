import ArgumentParser
import Explain
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write RUN_DIR/report.html: the run's curves from its metrics.jsonl.",
        discussion: """
            For a run trained without the explanation export, or one still going (run it again to \
            update). The export's explain/report.html has the same section. Lines of metrics.jsonl \
            that cannot be read are skipped with a warning.
            """)

    @Argument(help: "A run directory (the --out of mpivae train).") var runDirectory: String

    func run() throws {
        let (path, metrics) = try RunReport.write(runDirectory: runDirectory)
        if let problems = metrics.problems {
            FileHandle.standardError.write(Data("warning: \(runDirectory)/metrics.jsonl: \(problems)\n".utf8))
        }
        print("report: \(path) (\(metrics.epochs.count) epoch\(metrics.epochs.count == 1 ? "" : "s"), \(metrics.steps.count) step record\(metrics.steps.count == 1 ? "" : "s"))")
    }
}
