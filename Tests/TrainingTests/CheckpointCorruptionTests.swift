import Foundation
import XCTest
import SafeTensors
@testable import Training

/// Damaged checkpoints: each is a one-line error from `load`, and `loadNewestValid` skips it with
/// a warning naming it and falls back to the newest checkpoint that verifies.
final class CheckpointCorruptionTests: XCTestCase {
    var run = ""
    var store: CheckpointStore!
    override func setUpWithError() throws {
        run = try makeRunDirectory("corrupt")
        store = CheckpointStore(runDirectory: run, keepLast: 5)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: run) }

    func saveTwo() throws -> (older: String, newer: String) {
        let a = try store.save(tensors: CheckpointFixture.small(seed: 10).tensors, metadata: ["epoch": "1"], tag: "e0001")
        let b = try store.save(tensors: CheckpointFixture.small(seed: 11).tensors, metadata: ["epoch": "2"], tag: "e0002")
        return (a.path, b.path)
    }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    func loadNewest() throws -> (LoadedCheckpoint?, [String]) {
        var warnings: [String] = []
        let c = try store.loadNewestValid { warnings.append($0) }
        return (c, warnings)
    }

    func testEveryBitFlipOfASmallCheckpointIsRefused() throws {
        let (_, newer) = try saveTwo()
        let good = try bytes(newer)
        for i in 0..<good.count {
            for bit in 0..<8 {
                var damaged = good
                damaged[i] ^= 1 << bit
                XCTAssertThrowsError(try CheckpointStore.load(bytes: damaged, source: "flip"), "bit \(bit) of byte \(i) went unnoticed") { e in
                    XCTAssertFalse("\(e)".contains("\n"))
                }
            }
        }
    }

    func testTruncationAtEveryOffsetIsRefused() throws {
        let (_, newer) = try saveTwo()
        let good = try bytes(newer)
        for cut in 0..<good.count {
            XCTAssertThrowsError(try CheckpointStore.load(bytes: Array(good[..<cut]), source: "cut"), "cut at \(cut)")
        }
    }

    func testFlippedDataBitInNewestFallsBackWithWarning() throws {
        let (older, newer) = try saveTwo()
        var b = try bytes(newer)
        b[b.count - 5] ^= 0x01
        try write(b, newer)
        XCTAssertThrowsError(try CheckpointStore.load(path: newer)) { e in
            XCTAssertTrue("\(e)".hasPrefix(newer + ": data_crc32 does not hold (stored "), "\(e)")
            XCTAssertTrue("\(e)".hasSuffix("the file is corrupt"), "\(e)")
        }
        let (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, older)
        XCTAssertEqual(c?.metadata["epoch"], "1")
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].hasPrefix("skipping checkpoint " + newer + ": data_crc32"), warnings[0])
    }

    func testFlippedHeaderBitInNewestFallsBackWithWarning() throws {
        let (older, newer) = try saveTwo()
        var b = try bytes(newer)
        // Inside the value of "epoch": still valid JSON, caught by header_crc32.
        let needle = Array("\"epoch\":\"2\"".utf8)
        let at = (0...(b.count - needle.count)).first { b[$0..<($0 + needle.count)].elementsEqual(needle) }!
        b[at + needle.count - 2] ^= 0x01  // "2" -> "3"
        try write(b, newer)
        XCTAssertThrowsError(try CheckpointStore.load(path: newer)) { e in
            XCTAssertTrue("\(e)".contains("header_crc32 does not hold"), "\(e)")
        }
        let (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, older)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains(newer), warnings[0])
    }

    func testTruncatedNewestFallsBack() throws {
        let (older, newer) = try saveTwo()
        let b = try bytes(newer)
        try write(Array(b[..<(b.count / 2)]), newer)
        let (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, older)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains(newer), warnings[0])
    }

    func testAllCorruptGivesNilAndAWarningForEach() throws {
        let (older, newer) = try saveTwo()
        try write([1, 2, 3], older)
        try write([], newer)
        let (c, warnings) = try loadNewest()
        XCTAssertNil(c)
        XCTAssertEqual(warnings.count, 2)
        XCTAssertTrue(warnings[0].contains(newer) && warnings[1].contains(older), "\(warnings)")
    }

    func testBrokenLatestPointerFallsBackToScanning() throws {
        let (older, newer) = try saveTwo()
        try write(Array("../../etc/passwd\n".utf8), store.latestPath)
        var (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, newer)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("not a ckpt-<tag>.safetensors name"), warnings[0])

        try write(Array("ckpt-e0009.safetensors".utf8), store.latestPath)
        (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, newer)
        XCTAssertTrue(warnings.count == 1 && warnings[0].contains("ckpt-e0009.safetensors, which does not exist"), "\(warnings)")

        try FileManager.default.removeItem(atPath: store.latestPath)
        (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, newer)
        XCTAssertTrue(warnings.count == 1 && warnings[0].contains("is missing"), "\(warnings)")

        // `latest` wins over name order: it may point at an older file on purpose.
        try write(Array("ckpt-e0001.safetensors\n".utf8), store.latestPath)
        (c, warnings) = try loadNewest()
        XCTAssertEqual(c?.path, older)
        XCTAssertEqual(warnings, [])
    }
}
