import ArgumentParser
import Foundation
import MPI
import VAE

/// `--stall-timeout`, for the commands whose ranks work together (train, evaluate, explain).
struct StallTimeoutOption: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds a rank waits in a collective for the others before the job ends with a line naming the ranks that did not arrive (default 60).",
                               valueName: "seconds"))
    var stallTimeout: Double = 60

    /// The timeout, checked: a positive number of seconds, at most a week.
    func seconds() throws -> Double {
        guard stallTimeout.isFinite, stallTimeout > 0, stallTimeout <= 604_800 else {
            throw ConfigError("--stall-timeout expects a positive number of seconds up to 604800 (a week), got \(stallTimeout)")
        }
        return stallTimeout
    }
}

/// How every MPI command starts: MPI, then, before any collective, the ranks' agreement on the
/// command and protocol, then (for the commands that take `--stall-timeout`) the stall watchdog.
enum JobStart {
    /// The version of what ranks send each other. Ranks of different versions refuse to start
    /// together; raise it whenever the sequence or layout of collectives changes.
    static let protocolVersion = 1
    nonisolated(unsafe) private static var started = false

    /// Initializes MPI for `command`. `stallTimeout` nil: no watchdog (a 60 s deadline still
    /// bounds the start-up agreement).
    static func initializeMPI(command: String, stallTimeout: Double?) throws {
        guard !started else { return }
        started = true
        // Before MPI_Init: a singleton's MPI_Init writes launcher variables into the environment.
        let launcher = LauncherWatch.forThisProcess()
        try MPIRuntime.initialize()
        LauncherWatch.current = launcher
        let world = Communicator.world
        guard world.size > 1 else { return }
        try CommandAgreement.agree(command: command, protocolVersion: protocolVersion, on: world,
                                   timeout: stallTimeout ?? 60)
        if let stallTimeout {
            try StallWatchdog.install(timeout: stallTimeout, world: world, launcher: launcher)
            StallWatchdog.phase = command
        }
    }
}
