import MPI
import XCTest

/// The bf16 array loops the gradient exchange packs, unpacks and sums with (vectorized) give the
/// element conversions' bits for every kind of float, at every length and alignment (the vector body and
/// the scalar tail both run).
final class BF16ArraysTests: XCTestCase {
    private func inputs(_ count: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var xs = (0..<count).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
        }
        // Ties, the top of the range, infinities, NaNs with payloads, zeros of both signs.
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001),
                                Float(bitPattern: 0xFFC1_2345), .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x0000_8000)]
        for (k, s) in special.enumerated() where k < xs.count { xs[k * 7 % xs.count] = s }
        return xs
    }

    func testPackAndUnpackGiveTheScalarBits() {
        for count in [0, 1, 15, 16, 17, 100, 4099] {
            let xs = inputs(count + 1)
            for offset in [0, 1] {
                var packed = [UInt16](repeating: 0, count: count)
                xs.withUnsafeBufferPointer { x in packed.withUnsafeMutableBufferPointer { p in
                    BF16Arrays.pack(x.baseAddress! + offset, into: p.baseAddress!, count: count)
                } }
                for i in 0..<count { XCTAssertEqual(packed[i], HalfFloat.toBF16(xs[i + offset]), "pack \(xs[i + offset])") }
                var back = [Float](repeating: 1, count: count)
                packed.withUnsafeBufferPointer { p in back.withUnsafeMutableBufferPointer { y in
                    BF16Arrays.unpack(p.baseAddress!, into: y.baseAddress!, count: count)
                } }
                for i in 0..<count { XCTAssertEqual(back[i].bitPattern, HalfFloat.fromBF16(packed[i]).bitPattern) }
            }
        }
    }

    func testSumGivesTheScalarBits() {
        for count in [1, 16, 33, 1000] {
            let a = inputs(count).map(HalfFloat.toBF16)
            let b = Array(inputs(count + 5).suffix(count).map(HalfFloat.toBF16))
            var acc = b
            a.withUnsafeBufferPointer { x in acc.withUnsafeMutableBufferPointer { y in
                BF16Arrays.add(x.baseAddress!, into: y.baseAddress!, count: count)
            } }
            for i in 0..<count {
                let expected = HalfFloat.toBF16(HalfFloat.fromBF16(a[i]) + HalfFloat.fromBF16(b[i]))
                let bothNaN = HalfFloat.fromBF16(expected).isNaN && HalfFloat.fromBF16(acc[i]).isNaN
                XCTAssertTrue(acc[i] == expected || bothNaN, "\(a[i]) + \(b[i])")
            }
        }
    }
}
