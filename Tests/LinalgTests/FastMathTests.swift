import Foundation
import XCTest
@testable import Linalg

final class FastMathTests: XCTestCase {
    func testExpMatchesFoundation() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let a = FastMath.exp(x), b = Foundation.exp(x)
            worst = max(worst, abs(a - b) / b)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 4e-7)
        XCTAssertEqual(FastMath.exp(0), 1, accuracy: 1e-7)
    }

    func testLogMatchesFoundation() {
        var worst: Float = 0
        var x: Float = 1e-30
        while x < 1e30 {
            let a = FastMath.log(x), b = Foundation.log(x)
            worst = max(worst, abs(a - b) / max(1, abs(b)))
            x *= 1.0173
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(FastMath.log(1), 0, accuracy: 1e-7)
    }

    func testSqrtMatchesFoundation() {
        var worst: Float = 0
        var x: Float = 1e-30
        while x < 1e30 {
            worst = max(worst, abs(FastMath.sqrt(x) - x.squareRoot()) / x.squareRoot())
            x *= 1.0137
        }
        XCTAssertLessThan(worst, 4e-7)
        XCTAssertEqual(FastMath.sqrt(0), 0)
    }
}

final class FastMathTrigTests: XCTestCase {
    func testSinCosTurnsMatchesFoundation() {
        var worst = 0.0
        var u: Float = 0
        while u < 1 {
            let (s, c) = FastMath.sinCosTurns(u)
            let a = 2 * Double.pi * Double(u)
            worst = max(worst, abs(Double(s) - Foundation.sin(a)), abs(Double(c) - Foundation.cos(a)))
            u += 0.000_731
        }
        XCTAssertLessThan(worst, 5e-7)
    }
}
