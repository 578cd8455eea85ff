import Foundation
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

    /// SwiftPM builds every product next to the test bundle, which on Linux is an executable
    /// (`<scratch>/<triple>/debug/mpivaePackageTests.xctest`), so the tool is found beside it.
    static func executablePath() throws -> String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let path = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
            .appendingPathComponent("mpivae-mpicheck").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ProcessRunnerError(description:
                "no executable at \(path); build it first (swift build --product mpivae-mpicheck)")
        }
        return path
    }

    /// The mpirun command line for `ranks` ranks: oversubscribed, since tests use more ranks than
    /// this machine has cores; root is allowed only when we are root (mpirun refuses it otherwise).
    static func mpirunArguments(ranks: Int) -> [String] {
        var arguments = ["--oversubscribe", "-np", "\(ranks)"]
        if geteuid() == 0 { arguments.insert("--allow-run-as-root", at: 0) }
        return arguments
    }

    /// This process's environment without what an MPI singleton leaves in it. The in-process
    /// tests call MPI_Init here, and Open MPI then exports PMIX_* / OMPI_* / ORTE_* variables
    /// describing this process as a running job; an mpirun (or singleton) started with them
    /// quietly fails (mpirun exits 1 without output). The user's own MCA settings
    /// (OMPI_MCA_btl_..., etc.) pass through.
    static func launchEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in
            if key.hasPrefix("PMIX_") || key.hasPrefix("ORTE_") { return false }
            if key.hasPrefix("OMPI_MCA_") {
                return !(key.hasPrefix("OMPI_MCA_ess") || key.hasPrefix("OMPI_MCA_pmix")
                         || key.hasPrefix("OMPI_MCA_orte_"))
            }
            return !key.hasPrefix("OMPI_")
        }
    }

    /// Runs the tool with `arguments`: under `mpirun -np ranks`, or directly as a world of one
    /// when `ranks` is nil.
    static func run(ranks: Int?, arguments: [String] = []) throws -> ProcessResult {
        let tool = try executablePath()
        if let ranks {
            return try ProcessRunner.run("mpirun", mpirunArguments(ranks: ranks) + [tool] + arguments,
                                         environment: launchEnvironment(), timeout: timeout)
        }
        return try ProcessRunner.run(tool, arguments, environment: launchEnvironment(), timeout: timeout)
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
