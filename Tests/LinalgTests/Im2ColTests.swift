import XCTest
@testable import Linalg

/// The plane-at-a-time unfolding against the convolution's definition written out entry by
/// entry. Both are copies (unfold) or sums in the same order (fold), so they agree to the bit on
/// any CPU; the geometries cover both inner loops (the offset table and whole-row copies),
/// padding wider than the kernel reaches, strides that skip pixels, and non-square images.
final class Im2ColTests: XCTestCase {
    private let geometries = [
        ConvGeometry(channels: 3, height: 14, width: 14, kernel: 4, stride: 2, padding: 1),
        ConvGeometry(channels: 2, height: 9, width: 11, kernel: 3, stride: 3, padding: 2),
        ConvGeometry(channels: 2, height: 18, width: 20, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(channels: 1, height: 10, width: 12, kernel: 5, stride: 1, padding: 0),
        ConvGeometry(channels: 2, height: 7, width: 7, kernelHeight: 2, kernelWidth: 3, stride: 2, padding: 0),
        ConvGeometry(channels: 1, height: 5, width: 5, kernel: 1, stride: 1, padding: 0),
        ConvGeometry(channels: 2, height: 28, width: 28, kernel: 4, stride: 2, padding: 1),
        ConvGeometry(channels: 2, height: 12, width: 12, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(channels: 3, height: 7, width: 7, kernel: 3, stride: 2, padding: 0),
        ConvGeometry(channels: 2, height: 3, width: 3, kernel: 3, stride: 1, padding: 0),
        ConvGeometry(channels: 1, height: 20, width: 33, kernel: 3, stride: 2, padding: 1),
    ]

    /// Every (channel, sample) element of `x` at `c·channelStride + n·sampleStride + h·w + w`.
    private func reference(_ g: ConvGeometry, rows: Int, cs: Int, ss: Int, x: [Float]) -> [Float] {
        let columns = rows * g.outPositions
        var col = [Float](repeating: 0, count: g.patchSize * columns)
        for c in 0..<g.channels { for i in 0..<g.kernelHeight { for j in 0..<g.kernelWidth {
            let row = (c * g.kernelHeight + i) * g.kernelWidth + j
            for n in 0..<rows { for oh in 0..<g.outHeight { for ow in 0..<g.outWidth {
                let h = oh * g.stride - g.padding + i, w = ow * g.stride - g.padding + j
                let inside = h >= 0 && h < g.height && w >= 0 && w < g.width
                col[row * columns + (n * g.outHeight + oh) * g.outWidth + ow] =
                    inside ? x[c * cs + n * ss + h * g.width + w] : 0
            } } }
        } } }
        return col
    }

    private func referenceFold(_ g: ConvGeometry, rows: Int, cs: Int, ss: Int, col: [Float], count: Int) -> [Float] {
        let columns = rows * g.outPositions
        var x = [Float](repeating: 0, count: count)
        for c in 0..<g.channels { for i in 0..<g.kernelHeight { for j in 0..<g.kernelWidth {
            let row = (c * g.kernelHeight + i) * g.kernelWidth + j
            for n in 0..<rows { for oh in 0..<g.outHeight { for ow in 0..<g.outWidth {
                let h = oh * g.stride - g.padding + i, w = ow * g.stride - g.padding + j
                guard h >= 0 && h < g.height && w >= 0 && w < g.width else { continue }
                x[c * cs + n * ss + h * g.width + w] += col[row * columns + (n * g.outHeight + oh) * g.outWidth + ow]
            } } }
        } } }
        return x
    }

    func testUnfoldAndFoldMatchTheDefinitionBitForBit() {
        for rows in [1, 3] { for g in geometries {
            let count = g.channels * rows * g.inPositions
            // Channel-major [c, n, h, w] as the layers keep images, and sample-major [n, c, h, w].
            for (cs, ss) in [(rows * g.inPositions, g.inPositions), (g.inPositions, g.channels * g.inPositions)] {
                let x = (0..<count).map { Float(($0 * 7919) % 101) / 37 - 1.3 }
                let colCount = g.patchSize * rows * g.outPositions
                let colValues = (0..<colCount).map { Float(($0 * 104_729) % 97) / 29 - 1.7 }
                let expectedCol = reference(g, rows: rows, cs: cs, ss: ss, x: x)
                let expectedImage = referenceFold(g, rows: rows, cs: cs, ss: ss, col: colValues, count: count)
                for path in Im2Col.Path.allCases where Im2Col.supports(path, g) {
                    let unfolding = Im2Col(geometry: g, path: path)
                    let what = "\(g) \(path), \(rows) rows, strides \(cs), \(ss)"
                    // Poisoned outputs: every entry must be written, padding included.
                    var col = [Float](repeating: .nan, count: colCount)
                    x.withUnsafeBufferPointer { xp in
                        col.withUnsafeMutableBufferPointer {
                            unfolding.unfold(xp.baseAddress!, rows: rows, channelStride: cs, sampleStride: ss, into: $0.baseAddress!)
                        }
                    }
                    XCTAssertEqual(col.map(\.bitPattern), expectedCol.map(\.bitPattern), "unfold \(what)")
                    var image = [Float](repeating: .nan, count: count)
                    colValues.withUnsafeBufferPointer { cp in
                        image.withUnsafeMutableBufferPointer {
                            unfolding.fold(cp.baseAddress!, rows: rows, channelStride: cs, sampleStride: ss, into: $0.baseAddress!)
                        }
                    }
                    XCTAssertEqual(image.map(\.bitPattern), expectedImage.map(\.bitPattern), "fold \(what)")
                }
            }
        }
    } }
}
