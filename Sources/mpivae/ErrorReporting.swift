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

    /// Errors quote file contents and names, which may hold any byte: line breaks and tabs become
    /// spaces and other control characters a visible `\xNN`, so the error stays one readable line
    /// and cannot move the terminal's cursor.
    static func oneLine(_ message: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(message.unicodeScalars.count)
        for scalar in message.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x0D, 0x09: out.unicodeScalars.append(" ")
            case 0..<0x20, 0x7F: out += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
