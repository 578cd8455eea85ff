import Foundation
import XCTest
@testable import Training

/// Real kill -9: this test binary is started again as a child that saves checkpoints in a loop,
/// and is killed with SIGKILL at random moments. After every kill the newest checkpoint must load
/// and verify, `latest` must name a complete file, and no save may ever be seen half-done.
final class CheckpointKillTests: XCTestCase {
    static let childEnvironmentKey = "MPIVAE_CHECKPOINT_KILL_CHILD_RUN"

    /// In the child: save forever (until killed). In a normal test run: does nothing.
    func testChildSavesInALoop() throws {
        guard let run = ProcessInfo.processInfo.environment[Self.childEnvironmentKey] else { return }
        let store = CheckpointStore(runDirectory: run, keepLast: 3)
        let fx = CheckpointFixture(specs: [("w", [256, 1024]), ("optimizer.m.w", [256, 1024])], seed: 5)
        var step = (try? store.loadNewestValid { _ in })?.metadata["step"].flatMap { Int($0) } ?? 0
        while true {
            step += 1
            fx.arena[0] = Float(step)
            try store.save(tensors: fx.tensors, metadata: ["step": String(step)], tag: String(format: "s%08d", step))
        }
    }

    func testKillMinus9AtRandomMomentsAlwaysLeavesAVerifiedLatest() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0])
        guard CommandLine.arguments[0].hasSuffix(".xctest"), FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("the test bundle is not a standalone executable here (\(CommandLine.arguments[0]))")
        }
        let run = try makeRunDirectory("kill")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let store = CheckpointStore(runDirectory: run)
        var lastStep = 0
        var kills = 0
        for round in 0..<12 {
            let child = Process()
            child.executableURL = binary
            child.arguments = ["TrainingTests.CheckpointKillTests/testChildSavesInALoop"]
            child.environment = ProcessInfo.processInfo.environment.merging([Self.childEnvironmentKey: run]) { $1 }
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            usleep(UInt32.random(in: 150_000...500_000))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "round \(round): the child stopped by itself")
            kills += 1

            var warnings: [String] = []
            guard let found = try store.loadNewestValid(warn: { warnings.append($0) }) else {
                // Killed before its first save completed (startup is slow in debug builds).
                XCTAssertEqual(lastStep, 0, "round \(round): checkpoints vanished")
                continue
            }
            XCTAssertTrue(found.isVerified, "round \(round)")
            XCTAssertEqual(warnings, [], "round \(round): latest did not name a complete checkpoint")
            let step = Int(found.metadata["step"] ?? "") ?? -1
            XCTAssertGreaterThanOrEqual(step, lastStep, "round \(round): went back in time")
            XCTAssertEqual(try found.tensor("w").values[0], Float(step))
            XCTAssertLessThanOrEqual(store.checkpointFileNames().count, 3 + 1, "round \(round): pruning fell behind")
            lastStep = step
        }
        XCTAssertGreaterThan(lastStep, 0, "no save completed in \(kills) runs")
        print("kill -9 test: \(kills) kills, last verified step \(lastStep)")
    }
}
