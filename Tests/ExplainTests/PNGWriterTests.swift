import XCTest
@testable import Explain

final class PNGWriterTests: XCTestCase {
    func testGreyRoundTrip() throws {
        var pixels = [UInt8](repeating: 0, count: 31 * 17)
        for i in pixels.indices { pixels[i] = UInt8((i * 37 + i / 31 * 11) % 256) }
        let image = try RasterImage(width: 31, height: 17, channels: 1, pixels: pixels)
        let png = try PNGWriter.encode(image)
        XCTAssertEqual(Array(png[0..<8]), [137, 80, 78, 71, 13, 10, 26, 10])
        let decoded = try PNGDecoder.decode(png)
        XCTAssertEqual(decoded.chunkTypes, ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(decoded.width, 31)
        XCTAssertEqual(decoded.height, 17)
        XCTAssertEqual(decoded.channels, 1)
        XCTAssertEqual(decoded.pixels, pixels)
    }

    func testRGBRoundTrip() throws {
        var pixels = [UInt8](repeating: 0, count: 5 * 9 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 97 &+ 13) }
        let image = try RasterImage(width: 5, height: 9, channels: 3, pixels: pixels)
        let decoded = try PNGDecoder.decode(try PNGWriter.encode(image))
        XCTAssertEqual(decoded.channels, 3)
        XCTAssertEqual(decoded.width, 5)
        XCTAssertEqual(decoded.height, 9)
        XCTAssertEqual(decoded.pixels, pixels)
    }

    func testSinglePixel() throws {
        let image = try RasterImage(width: 1, height: 1, channels: 3, pixels: [1, 2, 3])
        XCTAssertEqual(try PNGDecoder.decode(try PNGWriter.encode(image)).pixels, [1, 2, 3])
    }

    func testCorruptedCRCIsDetectedByTheDecoder() throws {
        let image = try RasterImage(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 7, count: 16))
        var png = try PNGWriter.encode(image)
        png[20] ^= 0xff  // inside IHDR data
        XCTAssertThrowsError(try PNGDecoder.decode(png))
    }

    func testRejectsMismatchedPixelCount() {
        XCTAssertThrowsError(try RasterImage(width: 3, height: 3, channels: 1, pixels: [0, 1])) { error in
            XCTAssertTrue("\(error)".contains("expected 9 bytes"), "\(error)")
        }
        XCTAssertThrowsError(try RasterImage(width: 3, height: 3, channels: 2, pixels: []))
    }

    func testWriteCreatesDecodableFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.png").path
        let image = try RasterImage.grey(unit: [0, 0.5, 1, 2, -1, .nan], width: 3, height: 2)
        try PNGWriter.write(image, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(try PNGDecoder.decode(bytes).pixels, [0, 128, 255, 255, 0, 0])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(leftovers, ["a.png"])
    }
}
