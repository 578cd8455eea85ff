import ArgumentParser
import Foundation
import MPI
import Training
import VAE

/// How a command ends. An error every rank agreed on is printed once by rank 0 and every rank
/// exits non-zero; an error only this rank saw would leave the others waiting in a collective, so
/// it takes the whole job down with MPI_Abort and its reason.
///
/// Failing ranks do not call MPI_Finalize (the exit hook skips it on a non-zero status when there
/// are several ranks): finalizing waits for every rank, so one error wrongly taken for agreed
/// would hang the job, while exiting without it makes the launcher end the job within seconds.
enum ErrorReporting {
    static func run(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            MPIRuntime.finalize()
            return 0
        } catch let error as AgreedError {
            if currentRank == 0 { printError("\(error)") }
            return 1
        } catch where MPIVAE.exitCode(for: error) == .success {
            // `mpivae help train` and `mpivae train --help` arrive as a help request from run().
            if currentRank == 0 { print(MPIVAE.fullMessage(for: error)) }
            MPIRuntime.finalize()
            return 0
        } catch {
            if MPIRuntime.isInitialized, Communicator.world.size > 1 {
                Communicator.world.abort(message: "rank \(Communicator.world.rank): \(error)", code: 1)
            }
            // Settings are checked before MPI starts, identically on every rank: rank 0 speaks for all.
            if !MPIRuntime.isInitialized, error is ConfigError, LaunchEnvironment.rank != 0 {
                return 1
            }
            printError("\(error)")
            return 1
        }
    }

    static var currentRank: Int {
        MPIRuntime.isInitialized ? Communicator.world.rank : LaunchEnvironment.rank
    }

    static func printError(_ message: String) {
        try? FileHandle.standardError.write(contentsOf: Data("error: \(oneLine(message))\n".utf8))
    }
}
