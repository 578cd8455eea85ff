import XCTest
@testable import Datasets

/// `synthetic:...` (hard edges unless `edges=soft`): the squares whose pixels the attribution
/// ground truth counts.
final class SyntheticHardEdgesTests: XCTestCase {
    func testSquaresAreSharpGridAlignedAndOfUnequalBrightness() throws {
        let data = try DataSource.load("synthetic:k=4,n=60,edges=hard", split: .test)
        XCTAssertEqual(data.name, "synthetic:k=4,seed=1,edges=hard")
        // The hard squares are the default; the soft ones are asked for and named as such.
        let plain = try DataSource.load("synthetic:k=4,n=60", split: .test)
        XCTAssertEqual(plain.fingerprint, data.fingerprint)
        XCTAssertEqual(plain.name, data.name)
        let soft = try DataSource.load("synthetic:k=4,n=60,edges=soft", split: .test)
        XCTAssertEqual(soft.name, "synthetic:k=4,seed=1,edges=soft")
        XCTAssertNotEqual(soft.fingerprint, data.fingerprint)
        XCTAssertEqual(try DataSource.factorTruth("synthetic:k=4,n=60", split: .test)?.regions,
                       (0..<4).map { SyntheticData.squareRegion($0) })
        let truth = try XCTUnwrap(try DataSource.factorTruth("synthetic:k=4,n=60,edges=hard", split: .test))
        XCTAssertEqual(truth.count, data.count)
        XCTAssertEqual(truth.values, SyntheticData.factors(count: 10, factors: 4, seed: 1, firstIndex: 60))
        for j in 0..<4 {
            let region = truth.regions[j]
            XCTAssertEqual(region.filter { $0 }.count, 64)
            let (rows, cols) = (j < 2 ? 4..<12 : 16..<24, j % 2 == 0 ? 4..<12 : 16..<24)
            for p in 0..<784 { XCTAssertEqual(region[p], rows.contains(p / 28) && cols.contains(p % 28), "square \(j) pixel \(p)") }
        }
        var image = [Float](repeating: 0, count: 784)
        for i in 0..<data.count {
            data.copySample(i, into: &image)
            for p in 0..<784 {
                let owner = (0..<4).first { truth.regions[$0][p] }
                let expected = owner.map { (1 - 0.2 * Float($0)) * truth.values[i * 4 + $0] } ?? 0
                XCTAssertEqual(image[p], expected, accuracy: 0.5 / 255 + 1e-6, "sample \(i) pixel \(p)")
            }
        }
        // The soft squares are unchanged; their region is the 10x10 inside the edges' midpoints
        // less its four corners, where the two edges multiply to below half.
        XCTAssertEqual(SyntheticData.squareRegion(0, hardEdges: false).filter { $0 }.count, 96)
        XCTAssertNil(try DataSource.factorTruth("fashion-mnist", split: .test))
        XCTAssertThrowsError(try DataSource.syntheticOptions("synthetic:edges=round")) {
            XCTAssertTrue("\($0)".contains("edges must be soft or hard"), "\($0)")
        }
    }
}
