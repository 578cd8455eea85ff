@testable import Datasets
import XCTest

/// A gzip IDX file is inflated up to the size its own header declares and no further: a stream
/// that goes on is refused one byte past it, and a declared size beyond memory before inflating.
final class DeclaredSizeTests: XCTestCase {
    func testAStreamLongerThanItsHeaderIsRefusedAtTheDeclaredSize() throws {
        let dir = try makeTemporaryDirectory(self)
        // 10 images of 2x2 declared, 4 MiB of zeros after them.
        let lie = idxBytes(shape: [10, 2, 2], data: [UInt8](repeating: 0, count: 4 << 20))
        try writeFile(gzipBytes(lie), to: dir + "/lie.gz")
        assertDataError(try IDXReader.read(path: dir + "/lie.gz"), contains: [dir + "/lie.gz", "past the 56 bytes its header declares"])
        var inflated = 0
        XCTAssertThrowsError(try Gzip.decompress(gzipBytes(lie), source: "lie.gz") { prefix in
            inflated = prefix.count
            return try IDXReader.declaredSize(prefix, source: "lie.gz")
        })
        // The header is read from the first 4 KiB; nothing more is inflated once it says 56 bytes.
        XCTAssertLessThanOrEqual(inflated, 4096, "inflated \(inflated) bytes of a 56-byte file before refusing it")
    }

    func testAnHonestFileStillReadsWhole() throws {
        let dir = try makeTemporaryDirectory(self)
        let honest = idxBytes(shape: [3, 2, 2], data: Array(0..<12))
        try writeFile(gzipBytes(honest), to: dir + "/ok.gz")
        let (shape, bytes) = try IDXReader.read(path: dir + "/ok.gz")
        XCTAssertEqual(shape, [3, 2, 2])
        XCTAssertEqual(bytes, Array(0..<12))
    }

    func testADeclaredSizeBeyondMemoryIsRefusedBeforeInflating() throws {
        let dir = try makeTemporaryDirectory(self)
        // 2^40 images declared; the stream holds 3 bytes of them.
        try writeFile(gzipBytes(idxBytes(shape: [1 << 20, 1 << 20, 28, 28], data: [1, 2, 3])), to: dir + "/huge.gz")
        assertDataError(try IDXReader.read(path: dir + "/huge.gz"), contains: [dir + "/huge.gz", "header declares", "this process has left"])
    }

    func testAMagicThatIsNotIDXIsReportedAsSuch() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile(gzipBytes([0x50, 0x4B, 3, 4] + [UInt8](repeating: 7, count: 1 << 20)), to: dir + "/zip.gz")
        assertDataError(try IDXReader.read(path: dir + "/zip.gz"), contains: [dir + "/zip.gz", "wrong magic"])
    }
}
