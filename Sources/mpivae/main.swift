import ArgumentParser
import Foundation
import Linalg

// Before anything else (MPI included), one restart for what was fixed before main: OpenBLAS's
// kernel family when it loaded (the AVX-512 family is about 1.6x faster on the CPUs that have
// it; see BLASCoreSelection) and the subnormal mode of every thread (see SubnormalMode).
ProcessRestart.restart(setting: BLASCoreSelection.environmentChanges()
    .merging(SubnormalMode.environmentChanges(arguments: CommandLine.arguments)) { a, _ in a })
TransportDefaults.apply()

// Parse errors and run errors end the same way: one line on stderr and a non-zero exit. Help
// requests print the full help and succeed.
let command: ParsableCommand
do {
    command = try MPIVAE.parseAsRoot(NegativeValues.attached(Array(CommandLine.arguments.dropFirst())))
} catch {
    let code = MPIVAE.exitCode(for: error)
    if code == .success {
        print(MPIVAE.fullMessage(for: error))
        exit(0)
    }
    if LaunchEnvironment.rank == 0 {
        let message = MPIVAE.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        try? FileHandle.standardError.write(contentsOf: Data("error: \(oneLine(message)) (see `mpivae help`)\n".utf8))
    }
    exit(code.rawValue == 0 ? 64 : code.rawValue)
}
var runnable = command
exit(ErrorReporting.run { try runnable.run() })
