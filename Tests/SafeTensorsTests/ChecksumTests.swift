import XCTest
@testable import SafeTensors

final class ChecksumTests: XCTestCase {
    func testKnownVectors() {
        // The standard check value of CRC-32 (ISO-HDLC / zlib).
        XCTAssertEqual(Checksum.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(Checksum.crc32([UInt8]()), 0)
        XCTAssertEqual(Checksum.crc32(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
        XCTAssertEqual(Checksum.crc32([UInt8](repeating: 0, count: 32)), 0x190A_55AD)
    }

    func testContinuingEqualsOnePassAtEverySplit() {
        var rng = SplitMix64(state: 1)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let whole = Checksum.crc32(bytes)
        // Bytewise reference, the textbook definition, to check the sliced tables.
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        XCTAssertEqual(whole, ~c)
        for split in 0...bytes.count {
            let first = Checksum.crc32(Array(bytes[..<split]))
            XCTAssertEqual(Checksum.crc32(Array(bytes[split...]), continuing: first), whole, "split \(split)")
        }
    }

    func testHexRoundTrip() {
        XCTAssertEqual(Checksum.hex(0x0000_00AB), "000000ab")
        XCTAssertEqual(Checksum.parseHex("deadbeef"), 0xDEAD_BEEF)
        XCTAssertNil(Checksum.parseHex("DEADBEEF"))
        XCTAssertNil(Checksum.parseHex("deadbee"))
        XCTAssertNil(Checksum.parseHex("deadbeefa"))
        XCTAssertNil(Checksum.parseHex("deadbeeg"))
    }

    func testWriterStoresBothChecksumsThatReaderVerifies() throws {
        var w = SafeTensorsWriter(metadata: ["data_crc32": "ffffffff", "x": "y"], includesChecksums: true)
        try w.add(name: "a", shape: [2], values: [Float(1), 2])
        let bytes = try w.serialize()
        let f = try SafeTensorsFile.parse(bytes: bytes, source: "c")
        XCTAssertEqual(f.metadata[Checksum.dataKey], Checksum.hex(Checksum.crc32(floatBytes([1, 2]))), "caller's stale value replaced")
        XCTAssertEqual(f.verifyChecksums().data, .verified(Checksum.crc32(floatBytes([1, 2]))))
        XCTAssertTrue(f.headerChecksum.isVerified)
        // The header checksum covers every header byte but its own 8 digits.
        let n = f.headerLength
        let header = Array(bytes[8..<(8 + n)])
        let text = String(decoding: header, as: UTF8.self)
        let key = "\"header_crc32\":\""
        let start = text.utf8.count - text.components(separatedBy: key)[1].utf8.count
        let stored = String(decoding: header[start..<(start + 8)], as: UTF8.self)
        XCTAssertEqual(Checksum.parseHex(stored), Checksum.crc32(Array(header[..<start] + header[(start + 8)...])))
    }

    func testMalformedStoredChecksums() throws {
        let bad = rawFile("{\"__metadata__\":{\"data_crc32\":\"xyz\",\"header_crc32\":\"\\u0030000000a\"}}    ")
        let f = try SafeTensorsFile.parse(bytes: bad, source: "m")
        let r = f.verifyChecksums()
        guard case .malformed = r.data, case .malformed = r.header else { return XCTFail("\(r)") }
        XCTAssertTrue(r.anyFailed)
    }

    func testThroughputIsReported() {
        // Not an assertion on time (tests must not time out on a busy machine): prints the figure.
        let bytes = [UInt8](repeating: 0x5A, count: 16 << 20)
        let t = ContinuousClock().measure { _ = Checksum.crc32(bytes) }
        let s = Double(t.components.attoseconds) * 1e-18 + Double(t.components.seconds)
        print("CRC-32 over 16 MiB: \(String(format: "%.1f", s * 1000)) ms (\(String(format: "%.2f", 16.0 / 1024 / s)) GiB/s, debug or release as built)")
    }
}
