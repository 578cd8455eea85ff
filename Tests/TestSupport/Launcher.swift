import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finds the built executables and launches them, alone or under mpirun, the way the tests need.
public enum Launcher {
    /// SwiftPM builds every product next to the test bundle, which on Linux is an executable
    /// (`<scratch>/<triple>/<configuration>/mpivaePackageTests.xctest`), so tools are found beside it.
    public static func executablePath(_ name: String) throws -> String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let path = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
            .appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ProcessRunnerError(description: "no executable at \(path); build it first (swift build --product \(name))")
        }
        return path
    }

    /// The mpirun command line for `ranks` ranks: oversubscribed, since tests use more ranks than
    /// this machine has cores; root is allowed only when we are root (mpirun refuses it otherwise).
    public static func mpirunArguments(ranks: Int) -> [String] {
        var arguments = ["--oversubscribe", "-np", "\(ranks)"]
        if geteuid() == 0 { arguments.insert("--allow-run-as-root", at: 0) }
        return arguments
    }

    /// This process's environment without what an MPI singleton leaves in it. The in-process
    /// tests call MPI_Init here, and Open MPI then exports PMIX_* / OMPI_* / ORTE_* variables
    /// describing this process as a running job; an mpirun (or singleton) started with them
    /// quietly fails (mpirun exits 1 without output). The user's own MCA settings
    /// (OMPI_MCA_btl_..., etc.) pass through. One BLAS thread a process: tests oversubscribe.
    public static func launchEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            if key.hasPrefix("PMIX_") || key.hasPrefix("ORTE_") { return false }
            if key.hasPrefix("OMPI_MCA_") {
                return !(key.hasPrefix("OMPI_MCA_ess") || key.hasPrefix("OMPI_MCA_pmix")
                         || key.hasPrefix("OMPI_MCA_orte_"))
            }
            return !key.hasPrefix("OMPI_")
        }
        env["OPENBLAS_NUM_THREADS"] = "1"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// The command and arguments that run `executable` under `mpirun -np ranks`, or alone.
    public static func command(_ executable: String, ranks: Int?, arguments: [String]) throws -> (String, [String]) {
        let tool = try executablePath(executable)
        if let ranks { return ("mpirun", mpirunArguments(ranks: ranks) + [tool] + arguments) }
        return (tool, arguments)
    }

    public static func run(_ executable: String, ranks: Int?, arguments: [String], timeout: Double,
                           environment: [String: String] = [:]) throws -> ProcessResult {
        let (cmd, args) = try command(executable, ranks: ranks, arguments: arguments)
        return try ProcessRunner.run(cmd, args, environment: launchEnvironment(environment), timeout: timeout)
    }

    public static func start(_ executable: String, ranks: Int?, arguments: [String],
                             environment: [String: String] = [:]) throws -> ProcessRunner.Running {
        let (cmd, args) = try command(executable, ranks: ranks, arguments: arguments)
        return try ProcessRunner.start(cmd, args, environment: launchEnvironment(environment))
    }
}
