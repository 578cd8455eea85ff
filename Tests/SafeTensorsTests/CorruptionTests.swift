import XCTest
@testable import SafeTensors

/// Truncation, bit flips and random bytes: every damaged file is refused with one line, none crashes.
final class CorruptionTests: XCTestCase {
    func smallFile(checksums: Bool) throws -> [UInt8] {
        var w = SafeTensorsWriter(metadata: ["epoch": "2", "config": "{\"latent\":2}"], includesChecksums: checksums)
        try w.add(name: "encoder.0.weight", shape: [3, 2], values: [Float(1), -2, 3.5, 4, 5, 6])
        try w.add(name: "encoder.0.bias", shape: [3], values: [Float(0.25), 0, -1])
        try w.add(name: "steps", shape: [1], values: [Int64(12)])
        return try w.serialize()
    }

    func testTruncationAtEveryOffsetIsRefused() throws {
        let bytes = try smallFile(checksums: false)
        XCTAssertNoThrow(try SafeTensorsFile.parse(bytes: bytes, source: "whole"))
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensorsFile.parse(bytes: Array(bytes[..<cut]), source: "cut")) { e in
                XCTAssertTrue(e is SafeTensorsError && !"\(e)".contains("\n"), "cut at \(cut): \(e)")
            }
        }
    }

    func testTruncatedFilesOnDiskAreRefused() throws {
        let dir = try makeTemporaryDirectory("trunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = try smallFile(checksums: true)
        let path = dir + "/t.safetensors"
        for cut in stride(from: 0, to: bytes.count, by: 1) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes[..<cut]))
            XCTAssertThrowsError(try SafeTensorsFile.read(path: path), "cut at \(cut)")
        }
    }

    func testEveryFlippedBitIsCaughtByStructureOrChecksums() throws {
        let bytes = try smallFile(checksums: true)
        XCTAssertTrue(try SafeTensorsFile.parse(bytes: bytes, source: "ok").verifyChecksums().allVerified)
        for i in 0..<bytes.count {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[i] ^= 1 << bit
                if let f = try? SafeTensorsFile.parse(bytes: damaged, source: "flip") {
                    // It parsed: then the checksums must show the damage.
                    XCTAssertFalse(f.verifyChecksums().allVerified, "flip of bit \(bit) in byte \(i) went unnoticed")
                }
            }
        }
    }

    func testDataBitFlipIsReportedAsDataChecksumMismatch() throws {
        var bytes = try smallFile(checksums: true)
        bytes[bytes.count - 3] ^= 0x10
        let report = try SafeTensorsFile.parse(bytes: bytes, source: "d").verifyChecksums()
        guard case .mismatch = report.data else { return XCTFail("\(report)") }
        XCTAssertTrue(report.header.isVerified)
        XCTAssertTrue(report.anyFailed)
    }

    func testHeaderEditThatStillParsesIsReportedAsHeaderChecksumMismatch() throws {
        var bytes = try smallFile(checksums: true)
        // Rename a tensor in place ("encoder" -> "encodes"): still valid JSON and layout.
        let needle = Array("\"encoder.0.bias\"".utf8)
        let index = (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }!
        bytes[index + 7] = UInt8(ascii: "s")
        let f = try SafeTensorsFile.parse(bytes: bytes, source: "h")
        XCTAssertNotNil(f.entry("encodes.0.bias"))
        let report = f.verifyChecksums()
        guard case .mismatch = report.header else { return XCTFail("\(report)") }
        XCTAssertTrue(report.data.isVerified)
        XCTAssertTrue(f.summary().contains("header_crc32 FAILED (stored"), f.summary())
    }

    func testRandomBytesNeverCrash() {
        var rng = SplitMix64(state: 42)
        for round in 0..<3000 {
            let count = Int(rng.next() % 200)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if round % 2 == 0 && count >= 8 {
                // A plausible length prefix, so the JSON parser sees the random bytes too.
                let n = UInt64(count - 8 - Int(rng.next() % UInt64(count - 7)))
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
                if count > 8 && n > 0 { bytes[8] = UInt8(ascii: "{") }
            }
            _ = try? SafeTensorsFile.parse(bytes: bytes, source: "random")
        }
    }

    func testMutatedValidHeadersNeverCrash() throws {
        let bytes = try smallFile(checksums: false)
        var rng = SplitMix64(state: 7)
        let structural = Array("{}[]\",:0123456789-.eE \\u".utf8)
        for _ in 0..<5000 {
            var damaged = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let i = 8 + Int(rng.next() % UInt64(bytes.count - 8))
                damaged[i] = structural[Int(rng.next() % UInt64(structural.count))]
            }
            if let f = try? SafeTensorsFile.parse(bytes: damaged, source: "m") {
                for t in f.tensors { _ = try? f.withRawBytes(t.name) { $0.count } }
            }
        }
    }
}
