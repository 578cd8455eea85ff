import XCTest
@testable import Datasets

final class IDXReaderTests: XCTestCase {
    let images = idxBytes(shape: [3, 2, 2], data: [0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 255])

    func testParsesShapeAndData() throws {
        let (shape, bytes) = try IDXReader.parse(images, source: "x")
        XCTAssertEqual(shape, [3, 2, 2])
        XCTAssertEqual(bytes, [0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 255])
    }

    func testReadsRawAndGzipFilesAlike() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile(images, to: dir + "/raw")
        try writeFile(gzipBytes(images), to: dir + "/packed.gz")
        let raw = try IDXReader.read(path: dir + "/raw")
        let packed = try IDXReader.read(path: dir + "/packed.gz")
        XCTAssertEqual(raw.shape, packed.shape)
        XCTAssertEqual(raw.bytes, packed.bytes)
        XCTAssertEqual(packed.bytes.last, 255)
    }

    func testConcatenatedGzipMembersAreOneStream() throws {
        let whole = gzipBytes(Array(images[0..<7])) + gzipBytes(Array(images[7...]))
        XCTAssertEqual(try Gzip.decompress(whole, source: "m.gz"), images)
    }

    func testMalformedHeadersNameTheProblem() {
        assertDataError(try IDXReader.parse([], source: "e.idx"), contains: ["e.idx", "empty file"])
        assertDataError(try IDXReader.parse([1, 2, 8, 3, 0, 0], source: "m.idx"), contains: ["m.idx", "wrong magic", "01 02 08 03"])
        assertDataError(try IDXReader.parse([0, 0, 0x42, 1, 0, 0, 0, 0], source: "t.idx"), contains: ["t.idx", "wrong magic", "0x42"])
        assertDataError(try IDXReader.parse(idxBytes(shape: [1], data: [0, 0, 0, 0], type: 0x0D), source: "f.idx"),
                        contains: ["f.idx", "unsupported IDX element type 0x0d", "float32"])
        assertDataError(try IDXReader.parse([0, 0, 8, 0], source: "z.idx"), contains: ["z.idx", "wrong dimensions"])
        assertDataError(try IDXReader.parse([0, 0, 8, 3, 0, 0], source: "h.idx"), contains: ["h.idx", "truncated", "16 bytes"])
    }

    func testTruncatedAndTrailingData() {
        assertDataError(try IDXReader.parse(Array(images.dropLast(2)), source: "s.idx"),
                        contains: ["s.idx", "truncated", "3x2x2 = 12 bytes", "found 10"])
        assertDataError(try IDXReader.parse(images + [9], source: "l.idx"), contains: ["l.idx", "1 unexpected bytes"])
    }

    func testHugeHeaderIsAnErrorNotAnAllocation() {
        // 2^40 images of 28x28, and a product that overflows Int.
        let huge = idxBytes(shape: [1 << 20, 1 << 20, 28, 28], data: [1, 2, 3])
        assertDataError(try IDXReader.parse(huge, source: "big.idx"), contains: ["big.idx", "truncated"])
        let overflow = idxBytes(shape: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], data: [])
        assertDataError(try IDXReader.parse(overflow, source: "o.idx"), contains: ["o.idx", "too large"])
    }

    func testUnreadableGzip() throws {
        let dir = try makeTemporaryDirectory(self)
        var packed = gzipBytes(images)
        packed[packed.count / 2] ^= 0xFF   // corrupt the deflate data or the CRC
        try writeFile(packed, to: dir + "/bad.gz")
        assertDataError(try IDXReader.read(path: dir + "/bad.gz"), contains: [dir + "/bad.gz", "unreadable gzip"])
        let trailing = gzipBytes(images) + [1, 2, 3]
        assertDataError(try Gzip.decompress(trailing, source: "t.gz"), contains: ["t.gz", "trailing data"])
    }

    func testEveryTruncationOfRawAndGzipFailsCleanly() {
        for cut in 0..<images.count {
            assertDataError(try IDXReader.parse(Array(images[0..<cut]), source: "raw.idx"), contains: ["raw.idx"])
        }
        let packed = gzipBytes(images)
        for cut in 2..<packed.count {
            let prefix = Array(packed[0..<cut])
            XCTAssertThrowsError(try IDXReader.parse(try Gzip.decompress(prefix, source: "p.gz"), source: "p.gz"), "cut \(cut)") {
                XCTAssertTrue(($0 as? DataError)?.description.hasPrefix("p.gz: ") ?? false, "\($0)")
            }
        }
    }

    func testEveryTruncationOnDiskFailsCleanly() throws {
        let dir = try makeTemporaryDirectory(self)
        let packed = gzipBytes(images)
        for (name, bytes) in [("raw", images), ("packed.gz", packed)] {
            for cut in 0..<bytes.count {
                let path = "\(dir)/\(name)-\(cut)"
                try writeFile(Array(bytes[0..<cut]), to: path)
                assertDataError(try IDXReader.read(path: path), contains: [path])
            }
        }
    }

    func testRandomBytesFailCleanly() {
        for seed in 0..<300 as Range<UInt64> {
            var bytes = pseudoRandomBytes(count: Int(seed % 64), seed: seed)
            if seed % 3 == 0 && bytes.count >= 4 { bytes[0] = 0; bytes[1] = 0; bytes[2] = 8; bytes[3] = bytes[3] % 4 }
            succeedsOrThrowsCleanly("r.idx") { try IDXReader.parse(bytes, source: "r.idx") }
            if seed % 2 == 0 && bytes.count >= 2 { bytes[0] = 0x1f; bytes[1] = 0x8b }
            succeedsOrThrowsCleanly("r.gz") { try Gzip.decompress(bytes, source: "r.gz") }
        }
    }

    func testMissingFileAndDirectory() throws {
        assertDataError(try IDXReader.read(path: "/nonexistent/x-idx3"), contains: ["/nonexistent/x-idx3", "cannot open"])
        let dir = try makeTemporaryDirectory(self)
        assertDataError(try IDXReader.read(path: dir), contains: [dir, "is a directory"])
    }
}
