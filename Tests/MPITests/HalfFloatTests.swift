import MPI
import XCTest

/// The 16-bit conversions gradients are sent with: round to nearest even, like the hardware.
final class HalfFloatTests: XCTestCase {
    func testFP16MatchesSwiftsFloat16BothWays() {
        for h in 0...UInt16.max {
            // An fp16 subnormal is a normal float, but Swift's conversion builds it through float32
            // subnormals, which this process flushes (DAZ/FTZ): its value from the integers instead.
            let reference = h & 0x7C00 == 0
                ? Float(h & 0x3FF) * 0x1p-24 * (h & 0x8000 == 0 ? 1 : -1)
                : Float(Float16(bitPattern: h))
            let ours = HalfFloat.fromFP16(h)
            if reference.isNaN { XCTAssertTrue(ours.isNaN); continue }
            XCTAssertEqual(ours.bitPattern, reference.bitPattern, "fp16 \(h)")
        }
        var generator = SystemRandomNumberGenerator()
        var values: [Float] = [0, -0, 1, 65504, 65519, 65520, 1e6, 6.1e-5, 5.9e-8, 3e-8, 2.98e-8, .infinity, -.infinity]
        for _ in 0..<200_000 { values.append(Float(bitPattern: UInt32.random(in: 0x2000_0000...0x4800_0000, using: &generator)) * (Bool.random() ? 1 : -1)) }
        for x in values {
            XCTAssertEqual(HalfFloat.toFP16(x), referenceFP16(x), "\(x)")
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
            let dDown = exactValue(x) - exactValue(down), dUp = exactValue(up) - exactValue(x)
            let expected = dDown < dUp ? down : dUp < dDown ? up : ((down.bitPattern >> 16) & 1 == 0 ? down : up)
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "\(x)")
            XCTAssertEqual(HalfFloat.fromBF16(HalfFloat.toBF16(-x)).bitPattern, (-got).bitPattern)
        }
        XCTAssertTrue(HalfFloat.fromBF16(HalfFloat.toBF16(.nan)).isNaN)
        XCTAssertEqual(HalfFloat.fromBF16(HalfFloat.toBF16(.infinity)), .infinity)
    }

    /// A positive float's value from its bits, through integer arithmetic: the process flushes
    /// subnormals (DAZ), so Double(x) of a subnormal x would read as 0, and the test draws those too.
    private func exactValue(_ x: Float) -> Double {
        let bits = x.bitPattern, exponent = Int((bits >> 23) & 0xFF), mantissa = Double(bits & 0x7F_FFFF)
        return exponent == 0 ? mantissa * 0x1p-149 : (mantissa + 0x1p23) * Double(sign: .plus, exponent: exponent - 150, significand: 1)
    }

    /// Float16(x), except where the result is an fp16 subnormal: Swift's conversion gives 0 there
    /// under this process's flush mode, so those are rounded from the exact Double value (x itself
    /// is a normal float) in units of the fp16 subnormal step, 2^-24, ties to even.
    private func referenceFP16(_ x: Float) -> UInt16 {
        guard x.isFinite, abs(x) < 0x1p-14 else { return Float16(x).bitPattern }
        let steps = UInt16((Double(abs(x)) * 0x1p24).rounded(.toNearestOrEven))
        return steps | (x.sign == .minus ? 0x8000 : 0)
    }
}
