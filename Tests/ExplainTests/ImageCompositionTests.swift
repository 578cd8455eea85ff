import XCTest
@testable import Explain

final class ImageCompositionTests: XCTestCase {
    func testUpscaleIsNearestNeighbour() throws {
        let image = try RasterImage(width: 2, height: 1, channels: 1, pixels: [10, 200])
        let big = image.upscaled(by: 3)
        XCTAssertEqual(big.width, 6)
        XCTAssertEqual(big.height, 3)
        XCTAssertEqual(Array(big.pixels[0..<6]), [10, 10, 10, 200, 200, 200])
        XCTAssertEqual(Array(big.pixels[12..<18]), [10, 10, 10, 200, 200, 200])
    }

    func testGridPlacesTilesWithBorder() throws {
        let a = try RasterImage(width: 2, height: 2, channels: 1, pixels: [0, 0, 0, 0])
        let b = try RasterImage(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 100, count: 12))
        let grid = try ImageGrid.compose([a, b, nil, a], columns: 2, border: 1)
        XCTAssertEqual(grid.width, 1 + 2 * 3)
        XCTAssertEqual(grid.height, 1 + 2 * 3)
        XCTAssertEqual(grid.channels, 3)
        XCTAssertEqual(grid.pixel(x: 0, y: 0), RGB(255, 255, 255))   // border
        XCTAssertEqual(grid.pixel(x: 1, y: 1), RGB(0, 0, 0))         // tile a
        XCTAssertEqual(grid.pixel(x: 4, y: 2), RGB(100, 100, 100))   // tile b
        XCTAssertEqual(grid.pixel(x: 1, y: 4), RGB(255, 255, 255))   // blank cell
        XCTAssertEqual(grid.pixel(x: 5, y: 5), RGB(0, 0, 0))         // last tile a
        XCTAssertThrowsError(try ImageGrid.compose([a, a.upscaled(by: 2)], columns: 2))
        XCTAssertThrowsError(try ImageGrid.compose([nil], columns: 2))
    }

    func testDivergingColormap() {
        XCTAssertEqual(Colormap.diverging(0), RGB(255, 255, 255))
        let red = Colormap.diverging(1), blue = Colormap.diverging(-1)
        XCTAssertGreaterThan(red.r, red.b)
        XCTAssertGreaterThan(blue.b, blue.r)
        XCTAssertEqual(Colormap.diverging(5), red)          // clamped
        XCTAssertEqual(Colormap.diverging(.nan), RGB(255, 255, 255))
        let half = Colormap.diverging(0.5)
        XCTAssertTrue(half.r > red.r && half.g > red.g, "halfway is lighter than the end")
    }

    func testDivergingImageUsesSymmetricScale() throws {
        let img = try RasterImage.diverging([-2, 0, 1], width: 3, height: 1)
        XCTAssertEqual(img.pixel(x: 0, y: 0), Colormap.diverging(-1))
        XCTAssertEqual(img.pixel(x: 1, y: 0), RGB(255, 255, 255))
        XCTAssertEqual(img.pixel(x: 2, y: 0), Colormap.diverging(0.5))
        let flat = try RasterImage.diverging([0, 0], width: 2, height: 1)
        XCTAssertEqual(flat.pixel(x: 0, y: 0), RGB(255, 255, 255))
    }

    func testQualitativePaletteIsDistinct() {
        XCTAssertEqual(Set(Colormap.qualitative).count, 10)
        XCTAssertEqual(Colormap.classColour(13), Colormap.qualitative[3])
        XCTAssertEqual(Colormap.classColour(-1), Colormap.qualitative[9])
        XCTAssertEqual(RGB(255, 0, 16).hex, "#ff0010")
    }
}
