import MPI
import TestSupport
import XCTest

/// Runs `mpivae-mpicheck` as its own job (alone, and under mpirun with 2 and 3 ranks) and checks
/// every value each rank printed against MPICheckExpectations. Each launch costs about a second,
/// so every collective is covered by one run per world size rather than one run per check.
final class MultiRankTests: XCTestCase {
    /// This process becomes an MPI singleton first, as it is whenever any in-process MPI test has
    /// run (all test targets share one test binary), so the launches always start from the
    /// polluted environment that Launcher.launchEnvironment must clean.
    override class func setUp() {
        super.setUp()
        _ = Communicator.world
    }

    func testOneRankWithoutMpirun() throws {
        try verifyFullRun(size: 1, try MPICheckLauncher.fullRun(ranks: nil))
    }

    func testTwoRanks() throws {
        try verifyFullRun(size: 2, try MPICheckLauncher.fullRun(ranks: 2))
    }

    func testThreeRanks() throws {
        try verifyFullRun(size: 3, try MPICheckLauncher.fullRun(ranks: 3))
    }

    /// Rank 1 aborts while ranks 0 and 2 wait in a barrier it never joins: the whole job must end
    /// within seconds with the abort code, and the message must reach stderr as one line.
    func testAbortEndsTheWholeJobQuickly() throws {
        let result = try MPICheckLauncher.run(ranks: 3, arguments: ["--abort-from", "1"])
        XCTAssertFalse(result.timedOut, result.summary)
        XCTAssertEqual(result.exitCode, 3, "mpirun should exit with the MPI_Abort code; \(result.summary)")
        XCTAssertLessThan(result.seconds, 10, result.summary)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0 == "error: mpicheck: deliberate abort from rank 1" }.count, 1, result.summary)
        XCTAssertFalse(result.stdout.contains("survived-abort"), "a rank got past the barrier: \(result.stdout)")
        XCTAssertEqual(result.strays, [], "processes still running after mpirun ended")
    }

    /// A rank that exits with an error while the others sit in a collective must not hang the
    /// job: the exit hook skips MPI_Finalize (which would wait for everyone) on a non-zero exit.
    func testErrorExitOfOneRankEndsTheJob() throws {
        let result = try MPICheckLauncher.run(ranks: 2, arguments: ["--exit-from", "1", "--code", "5"])
        XCTAssertFalse(result.timedOut, result.summary)
        XCTAssertEqual(result.exitCode, 5, result.summary)
        XCTAssertLessThan(result.seconds, 10, result.summary)
        XCTAssertTrue(result.stderr.contains("error: mpicheck: rank 1 exits with code 5"), result.summary)
        XCTAssertFalse(result.stdout.contains("survived-exit"), "a rank got past the barrier: \(result.stdout)")
        XCTAssertEqual(result.strays, [], "processes still running after mpirun ended")
    }

    func testLaunchEnvironmentDropsSingletonVariables() {
        let singletonMarkers = ProcessInfo.processInfo.environment.keys.filter { $0.hasPrefix("PMIX_") }
        XCTAssertFalse(singletonMarkers.isEmpty, "expected Open MPI to export PMIX_* after MPI_Init")
        let environment = Launcher.launchEnvironment()
        XCTAssertEqual(environment.keys.filter { $0.hasPrefix("PMIX_") || $0 == "OMPI_MCA_ess" || $0 == "OMPI_COMMAND" }, [])
        XCTAssertEqual(environment["PATH"], ProcessInfo.processInfo.environment["PATH"])
        XCTAssertEqual(Launcher.mpirunArguments(ranks: 3).contains("--allow-run-as-root"), geteuid() == 0)
    }

    /// Every rank 0..<size printed exactly the expected records, each once, with the right values.
    private func verifyFullRun(size: Int, _ run: (ProcessResult, [CheckRecord]), file: StaticString = #filePath,
                               line: UInt = #line) throws {
        let (result, records) = run
        XCTAssertFalse(result.timedOut, result.summary, file: file, line: line)
        XCTAssertEqual(result.exitCode, 0, result.summary, file: file, line: line)
        XCTAssertEqual(result.strays, [], "processes still running after the job ended", file: file, line: line)
        XCTAssertEqual(Set(records.map(\.rank)), Set(0..<size), "ranks that reported", file: file, line: line)
        XCTAssertEqual(Set(records.map(\.size)), [size], "world sizes reported", file: file, line: line)

        let expectations = MPICheckExpectations(size: size)
        for rank in 0..<size {
            let mine = records.filter { $0.rank == rank }
            let printed = Dictionary(mine.map { ($0.check, $0.values) }, uniquingKeysWith: { first, _ in first })
            XCTAssertEqual(printed.count, mine.count, "rank \(rank) printed a check twice", file: file, line: line)
            let expected = expectations.records(rank: rank)
            XCTAssertEqual(Set(printed.keys), Set(expected.keys), "checks printed by rank \(rank)", file: file, line: line)
            for (check, want) in expected.sorted(by: { $0.key < $1.key }) {
                guard let got = printed[check] else { continue }
                XCTAssertTrue(want.matches(got), "np \(size) rank \(rank) \(check): got \(got), expected \(want)",
                              file: file, line: line)
            }
        }
    }
}
