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
