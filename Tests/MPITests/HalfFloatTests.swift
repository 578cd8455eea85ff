import MPI
import XCTest

/// The 16-bit conversions gradients are sent with: round to nearest even, like the hardware.
final class HalfFloatTests: XCTestCase {
    func testFP16MatchesSwiftsFloat16BothWays() {
        for h in 0...UInt16.max {
            let reference = Float(Float16(bitPattern: h))
            let ours = HalfFloat.fromFP16(h)
            if reference.isNaN { XCTAssertTrue(ours.isNaN); continue }
            XCTAssertEqual(ours.bitPattern, reference.bitPattern, "fp16 \(h)")
        }
        var generator = SystemRandomNumberGenerator()
        var values: [Float] = [0, -0, 1, 65504, 65519, 65520, 1e6, 6.1e-5, 5.9e-8, 3e-8, 2.98e-8, .infinity, -.infinity]
        for _ in 0..<200_000 { values.append(Float(bitPattern: UInt32.random(in: 0x2000_0000...0x4800_0000, using: &generator)) * (Bool.random() ? 1 : -1)) }
        for x in values {
            XCTAssertEqual(HalfFloat.toFP16(x), Float16(x).bitPattern, "\(x)")
        }
        XCTAssertTrue(HalfFloat.fromFP16(HalfFloat.toFP16(.nan)).isNaN)
    }

    func testBF16RoundsToNearestEven() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32.random(in: 0...0x7F7F_0000, using: &generator))
            let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
            let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
            let got = HalfFloat.fromBF16(HalfFloat.toBF16(x))
            let dDown = Double(x) - Double(down), dUp = Double(up) - Double(x)
            let expected = dDown < dUp ? down : dUp < dDown ? up : ((down.bitPattern >> 16) & 1 == 0 ? down : up)
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "\(x)")
            XCTAssertEqual(HalfFloat.fromBF16(HalfFloat.toBF16(-x)), -got)
        }
        XCTAssertTrue(HalfFloat.fromBF16(HalfFloat.toBF16(.nan)).isNaN)
        XCTAssertEqual(HalfFloat.fromBF16(HalfFloat.toBF16(.infinity)), .infinity)
    }
}
