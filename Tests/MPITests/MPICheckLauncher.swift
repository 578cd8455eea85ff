import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One line of `mpivae-mpicheck` output.
struct CheckRecord: Decodable {
    let rank: Int
    let size: Int
    let check: String
    let values: [String]
}

/// Runs the `mpivae-mpicheck` executable, alone or under mpirun, and reads what it printed.
enum MPICheckLauncher {
    /// Long enough for a slow, shared machine; a hang fails the test after this instead of blocking.
    static let timeout = 60.0

    /// Runs the tool with `arguments`: under `mpirun -np ranks`, or directly as a world of one
    /// when `ranks` is nil.
    static func run(ranks: Int?, arguments: [String] = []) throws -> ProcessResult {
        try Launcher.run("mpivae-mpicheck", ranks: ranks, arguments: arguments, timeout: timeout)
    }

    /// Runs every check and reads the records each rank wrote to its own file.
    static func fullRun(ranks: Int?) throws -> (ProcessResult, [CheckRecord]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mpicheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try run(ranks: ranks, arguments: ["--records", directory.path])
        var text = ""
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
            text += try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        }
        return (result, try records(in: text))
    }

    /// The JSON records in `stdout`; other lines (launcher chatter) are skipped, but a line that
    /// looks like a record and does not parse is an error.
    static func records(in stdout: String) throws -> [CheckRecord] {
        let decoder = JSONDecoder()
        return try stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.map { line in
            do {
                return try decoder.decode(CheckRecord.self, from: Data(line.utf8))
            } catch {
                throw ProcessRunnerError(description: "unreadable record \(line): \(error)")
            }
        }
    }
}
