import XCTest
@testable import Training

/// The held-out class's separation figures the README's OOD claim is measured with.
final class OutOfDistributionScoreTests: XCTestCase {
    func testAUROCAndRatio() {
        // Perfect separation, its reverse, and ties counted half.
        XCTAssertEqual(OutOfDistributionScore.auroc(scores: [1, 2, 3, 4], positive: [false, false, true, true]), 1)
        XCTAssertEqual(OutOfDistributionScore.auroc(scores: [4, 3, 2, 1], positive: [false, false, true, true]), 0)
        XCTAssertEqual(OutOfDistributionScore.auroc(scores: [1, 1, 1, 1], positive: [false, false, true, true]), 0.5)
        // One of the four (positive, negative) pairs ranked wrong.
        XCTAssertEqual(OutOfDistributionScore.auroc(scores: [1, 3, 2, 4], positive: [false, false, true, true]), 0.75)
        let o = OutOfDistributionScore(scores: [1, 1, 2, 6], labels: [0, 1, 1, 8], heldOut: 8)
        XCTAssertEqual(o.classMeans[8], 6)
        XCTAssertEqual(o.classMeans[1], 1.5)
        XCTAssertEqual(o.ratio, 6 / (4.0 / 3))
        XCTAssertEqual(o.auroc, 1)
    }
}
