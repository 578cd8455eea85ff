import Foundation
import XCTest
@testable import SafeTensors
@testable import Training

/// What a kill -9 can leave behind, reproduced state by state: a save interrupted at any point
/// must leave a `latest` (or at least some checkpoint) that verifies, and its debris must be
/// ignored by readers and removed by the next save.
final class CheckpointCrashSafetyTests: XCTestCase {
    var run = ""
    var store: CheckpointStore!
    override func setUpWithError() throws {
        run = try makeRunDirectory("crash")
        store = CheckpointStore(runDirectory: run, keepLast: 3)
    }
    override func tearDown() {
        AtomicFile.failureInjection = nil
        try? FileManager.default.removeItem(atPath: run)
    }

    struct Killed: Error {}

    /// A save that "dies" at `stage` of the checkpoint's or of the pointer's atomic write.
    func interruptedSave(at stage: AtomicFile.Stage, onWrite target: Int, tag: String) {
        var writes = 0
        AtomicFile.failureInjection = { s in
            if s == .created { writes += 1 }
            if writes == target && s == stage { throw Killed() }
        }
        XCTAssertThrowsError(try store.save(tensors: CheckpointFixture.small(seed: 99).tensors, metadata: ["epoch": "2"], tag: tag))
        AtomicFile.failureInjection = nil
    }

    func testInterruptedSavesAtEveryStageLeaveAVerifiedLatest() throws {
        let good = try store.save(tensors: CheckpointFixture.small(seed: 1).tensors, metadata: ["epoch": "1"], tag: "e0001")
        for stage: AtomicFile.Stage in [.created, .written, .synced] {
            // Dying while writing the checkpoint: nothing changes but (at worst) a temp file.
            interruptedSave(at: stage, onWrite: 1, tag: "e0002")
            XCTAssertFalse(FileManager.default.fileExists(atPath: store.path(tag: "e0002")))
            XCTAssertEqual(try store.loadNewestValid { XCTFail($0) }?.path, good.path)
            // Dying while writing `latest`: the new checkpoint is complete; `latest` still names the old one.
            interruptedSave(at: stage, onWrite: 2, tag: "e0002")
            XCTAssertNoThrow(try CheckpointStore.load(path: store.path(tag: "e0002")))
            XCTAssertEqual(try store.readLatestPointer(), "ckpt-e0001.safetensors")
            XCTAssertEqual(try store.loadNewestValid { XCTFail($0) }?.path, good.path)
            try FileManager.default.removeItem(atPath: store.path(tag: "e0002"))
        }
    }

    func testDebrisOfAKilledWriterIsIgnoredThenCleaned() throws {
        let good = try store.save(tensors: CheckpointFixture.small(seed: 1).tensors, metadata: ["epoch": "1"], tag: "e0001")
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good.path)))
        // What kill -9 leaves mid-write: a hidden temp file of a process that no longer exists,
        // truncated, plus an empty one, and a half-written temp of `latest`.
        let dead: Int32 = 2_147_483_000
        let debris = [".ckpt-e0002.safetensors.tmp-\(dead)-1", ".ckpt-e0003.safetensors.tmp-\(dead)-2", ".latest.tmp-\(dead)-3"]
        try Data(full[..<(full.count / 3)]).write(to: URL(fileURLWithPath: store.directory + "/" + debris[0]))
        try Data().write(to: URL(fileURLWithPath: store.directory + "/" + debris[1]))
        try Data("ckpt-e00".utf8).write(to: URL(fileURLWithPath: store.directory + "/" + debris[2]))
        // A temp file of a writer that is still alive (our parent process) must survive cleaning.
        let live = ".ckpt-e0004.safetensors.tmp-\(getppid())-1"
        try Data([0]).write(to: URL(fileURLWithPath: store.directory + "/" + live))

        XCTAssertEqual(store.checkpointFileNames(), ["ckpt-e0001.safetensors"])
        XCTAssertEqual(try store.loadNewestValid { XCTFail($0) }?.path, good.path)

        let next = try store.save(tensors: CheckpointFixture.small(seed: 2).tensors, metadata: ["epoch": "2"], tag: "e0002")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: store.directory))
        XCTAssertEqual(left, ["ckpt-e0001.safetensors", "ckpt-e0002.safetensors", "latest", live])
        XCTAssertEqual(try store.loadNewestValid { XCTFail($0) }?.path, next.path)
    }

    func testManySavesWithRandomInterruptionsAlwaysLeaveAVerifiedLatest() throws {
        var rng = SystemRandomNumberGenerator()
        var lastGood: String?
        for round in 0..<60 {
            let tag = String(format: "e%04d", round)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                lastGood = try store.save(tensors: CheckpointFixture.small(seed: UInt32(round)).tensors, metadata: [:], tag: tag).path
            case let fate:
                // Killed while writing the checkpoint (fate 1) or the `latest` pointer after it.
                let stages: [AtomicFile.Stage] = [.created, .written, .synced]
                interruptedSave(at: stages[Int.random(in: 0..<3, using: &rng)], onWrite: fate == 1 ? 1 : 2, tag: tag)
            }
            var warnings: [String] = []
            let found = try store.loadNewestValid { warnings.append($0) }
            if let lastGood {
                // Once a save completed, `latest` names it whatever happened afterwards.
                XCTAssertEqual(found?.path, lastGood, "round \(round)")
                XCTAssertEqual(warnings, [], "round \(round)")
            } else {
                // Before any complete save there is no `latest`: a checkpoint whose pointer update
                // was killed is complete and verified, and is found by scanning.
                XCTAssertEqual(found?.path, store.checkpointFileNames().last.map { store.directory + "/" + $0 }, "round \(round)")
            }
            XCTAssertTrue(found?.isVerified ?? true)
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: store.directory).contains { $0.hasPrefix(".") },
                           "a failed write left its temporary file")
        }
    }
}
