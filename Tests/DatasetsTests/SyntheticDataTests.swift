import XCTest
@testable import Datasets

final class SyntheticDataTests: XCTestCase {
    func pixels(_ data: Dataset, _ index: Int) -> [Float] {
        var image = [Float](repeating: 0, count: data.dimension)
        data.copySample(index, into: &image)
        return image
    }

    func testDeterministicAndIndexedByStreamPosition() {
        let a = SyntheticData.make(count: 300, factors: 3, seed: 11)
        XCTAssertEqual(a.fingerprint, SyntheticData.make(count: 300, factors: 3, seed: 11).fingerprint)
        XCTAssertNotEqual(a.fingerprint, SyntheticData.make(count: 300, factors: 3, seed: 12).fingerprint)
        XCTAssertEqual(a.count, 300)
        XCTAssertEqual(a.sampleShape, [28, 28])
        XCTAssertTrue(a.storesBytes)
        // Sample i is the same whatever the count and wherever a split starts.
        XCTAssertEqual(SyntheticData.make(count: 50, factors: 3, seed: 11, firstIndex: 100).fingerprint,
                       a.subset(100..<150).fingerprint)
        // Factor j of sample i does not depend on k.
        let f2 = SyntheticData.factors(count: 20, factors: 2, seed: 11)
        let f4 = SyntheticData.factors(count: 20, factors: 4, seed: 11)
        for i in 0..<20 { XCTAssertEqual(Array(f2[2 * i ..< 2 * i + 2]), Array(f4[4 * i ..< 4 * i + 2])) }
    }

    func testEachFactorIsTheBrightnessOfItsSquareAndNothingElseVaries() {
        let centres = [7 * 28 + 7, 7 * 28 + 20, 20 * 28 + 7, 20 * 28 + 20]   // pixels near each square's centre
        for hard in [true, false] {
          for k in 1...4 {
            let count = 400
            let data = SyntheticData.make(count: count, factors: k, seed: 3, hardEdges: hard)
            let factors = SyntheticData.factors(count: count, factors: k, seed: 3)
            let labels = data.labels ?? []
            XCTAssertEqual(factors.count, count * k)
            for i in 0..<count {
                let image = pixels(data, i)
                for j in 0..<4 {
                    if j < k {
                        let amplitude: Float = hard ? 1 - 0.2 * Float(j) : 1
                        XCTAssertEqual(image[centres[j]], amplitude * factors[i * k + j], accuracy: 0.006,
                                       "hard \(hard) k=\(k) sample \(i) factor \(j)")
                    } else {
                        XCTAssertEqual(image[centres[j]], 0, "square \(j) must be absent when k=\(k)")
                    }
                }
                XCTAssertEqual(image[13 * 28 + 13] < 0.2, true)   // the gap between squares stays dark
                XCTAssertEqual(Int(labels[i]), Int(factors[i * k] * 10))
            }
          }
        }
    }

    func testImageIsLinearInTheFactors() {
        // The image of a sample equals the sum of single-factor images scaled by its factors
        // (within rounding to bytes): the property that makes one unit per factor enough.
        let k = 4
        for hard in [true, false] {
        let data = SyntheticData.make(count: 200, factors: k, seed: 8, hardEdges: hard)
        let factors = SyntheticData.factors(count: 200, factors: k, seed: 8)
        let patterns = (0..<k).map { SyntheticData.squarePattern($0, hardEdges: hard) }
        var worst: Float = 0
        for i in 0..<200 {
            let image = pixels(data, i)
            for p in 0..<784 {
                var model: Float = 0
                for j in 0..<k { model += factors[i * k + j] * patterns[j][p] }
                worst = max(worst, abs(image[p] - model))
            }
        }
        XCTAssertLessThanOrEqual(worst, 0.5 / 255 + 1e-6, "hard \(hard)")
        }
    }

    func testFactorsAreUniformAndIndependent() {
        let n = 5000, k = 4
        let f = SyntheticData.factors(count: n, factors: k, seed: 1)
        XCTAssertTrue(f.allSatisfy { $0 >= 0 && $0 < 1 })
        var mean = [Double](repeating: 0, count: k)
        for i in 0..<n { for j in 0..<k { mean[j] += Double(f[i * k + j]) / Double(n) } }
        for j in 0..<k { XCTAssertEqual(mean[j], 0.5, accuracy: 0.02) }
        for a in 0..<k {
            for b in (a + 1)..<k {
                var cov = 0.0, va = 0.0, vb = 0.0
                for i in 0..<n {
                    let x = Double(f[i * k + a]) - mean[a], y = Double(f[i * k + b]) - mean[b]
                    cov += x * y; va += x * x; vb += y * y
                }
                XCTAssertLessThan(abs(cov / (va * vb).squareRoot()), 0.05, "factors \(a) and \(b)")
            }
        }
        // Labels cover all ten bins of factor 0.
        XCTAssertEqual(Set(SyntheticData.make(count: 500, factors: 1, seed: 1).labels ?? []), Set(0...9))
    }
}
