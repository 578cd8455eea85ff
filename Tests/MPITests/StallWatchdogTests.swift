import MPI
import TestSupport
import XCTest

/// The stall watchdog under mpirun, through `mpivae-mpicheck --stall-timeout 2`: a rank that stops
/// or finishes early ends the job within the timeout plus a few seconds, with one line from a
/// live rank naming it; and a rank waiting for a late peer does not hold its core.
final class StallWatchdogTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        _ = Communicator.world
    }

    func errorLines(_ result: ProcessResult) -> [Substring] {
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    }

    func testStoppedRankEndsTheJob() throws {
        let result = try MPICheckLauncher.run(ranks: 3, arguments: ["--stall-timeout", "2", "--stop-from", "1"])
        XCTAssertFalse(result.timedOut, result.summary)
        XCTAssertEqual(result.exitCode, 75, result.summary)
        XCTAssertLessThan(result.seconds, 2 + 12, result.summary)
        XCTAssertEqual(errorLines(result), ["error: rank 1 did not arrive in mpicheck (MPI_Barrier) within --stall-timeout 2 s "
                                            + "(rank 1 does not respond); ranks 0, 2 waited; ending the job"], result.stderr)
        // (No check that nobody got past the barrier: when the job is torn down Open MPI sends the
        // stopped rank SIGCONT before killing it, and it may still join the others then.)
        XCTAssertEqual(result.strays, [])
    }

    /// Exiting 0 finalizes MPI, which first waits for every rank to be done: the others are still
    /// in a barrier, so the job ends at the deadline, naming the rank that finished.
    func testRankThatFinishesEarlyEndsTheJob() throws {
        let result = try MPICheckLauncher.run(ranks: 3, arguments: ["--stall-timeout", "2", "--exit-from", "2", "--code", "0"])
        XCTAssertFalse(result.timedOut, result.summary)
        XCTAssertEqual(result.exitCode, 75, result.summary)
        XCTAssertLessThan(result.seconds, 2 + 12, result.summary)
        let stall = errorLines(result).filter { !$0.contains("exits with code") }
        XCTAssertEqual(stall, ["error: rank 2 did not arrive in mpicheck (MPI_Barrier) within --stall-timeout 2 s "
                               + "(rank 2 has finished); ranks 0, 1 waited; ending the job"], result.stderr)
        XCTAssertEqual(result.strays, [])
    }

    /// Rank 0 waits 2 s in a barrier for a late rank: it must use a small share of a core.
    func testWaitingRankSleeps() throws {
        let result = try MPICheckLauncher.run(ranks: 2, arguments: ["--stall-timeout", "30", "--late-join", "2"])
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let record = try MPICheckLauncher.records(in: result.stdout).first { $0.check == "late-join" }
        let wall = record.flatMap { Double($0.values[0]) } ?? 0
        let cpu = record.flatMap { Double($0.values[1]) } ?? .infinity
        XCTAssertGreaterThanOrEqual(wall, 1.9, result.stdout)
        XCTAssertLessThan(cpu, 0.15 * wall, "CPU seconds while waiting \(wall) s: \(result.stdout)")
    }
}
