import Foundation
import XCTest
import Datasets
@testable import Training

/// The full-covariance fit of `--prior-covariance full`: the precision factor inverts the
/// covariance, and EM from a k-means start recovers elongated, tilted clusters, its likelihood
/// never falling from one step to the next.
final class FullCovarianceEMTests: XCTestCase {
    func testPrecisionFactorInvertsTheCovariance() {
        let d = 4
        var random = SplitMix64(keys: 1, 2, 3)
        var a = [Double](repeating: 0, count: d * d)
        for i in 0..<(d * d) { a[i] = Double(random.next() >> 11) / Double(1 << 53) - 0.5 }
        var covariance = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d { for t in 0..<d { covariance[i * d + j] += a[i * d + t] * a[j * d + t] } } }
        for i in 0..<d { covariance[i * d + i] += 0.1 }
        let p = FullCovarianceEM.precisionFactor(covariance, d: d)
        for i in 0..<d {
            for j in (i + 1)..<d { XCTAssertEqual(p[i * d + j], 0, "P is lower-triangular") }
            XCTAssertGreaterThan(p[i * d + i], 0)
        }
        // (P Pᵀ) Σ = I.
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for t in 0..<d {
                    var lambda = 0.0
                    for u in 0..<d { lambda += p[i * d + u] * p[t * d + u] }
                    s += lambda * covariance[t * d + j]
                }
                XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-9, "entry \(i), \(j)")
            }
        }
        // A singular covariance still gets a factor (a ridge), and a non-finite one the identity.
        let singular = [1.0, 1, 1, 1]
        XCTAssertTrue(FullCovarianceEM.precisionFactor(singular, d: 2).allSatisfy(\.isFinite))
        XCTAssertEqual(FullCovarianceEM.precisionFactor([.nan, 0, 0, 1], d: 2), [1, 0, 0, 1])
    }

    func testEMRecoversTiltedClustersFromKMeans() {
        // Two clusters elongated along the diagonal and the anti-diagonal, crossing near their ends.
        let n = 4000, d = 2, k = 2
        var random = SplitMix64(keys: 7, 8, 9)
        func gaussian() -> Double {
            let u = max(Double(random.next() >> 11) / Double(1 << 53), 1e-300), v = Double(random.next() >> 11) / Double(1 << 53)
            return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
        }
        let truth: [(mean: [Double], axis: [Double])] = [([-3, 0], [1, 1]), ([3, 0], [1, -1])]
        var x = [Double](repeating: 0, count: n * d), label = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let c = i % 2, long = 2 * gaussian(), short = 0.3 * gaussian()
            let (m, a) = truth[c]
            let norm = (a[0] * a[0] + a[1] * a[1]).squareRoot()
            x[i * d] = m[0] + (long * a[0] - short * a[1]) / norm
            x[i * d + 1] = m[1] + (long * a[1] + short * a[0]) / norm
            label[i] = c
        }
        var seed = SplitMix64(keys: 3, 0, 0)
        let km = MixtureFit.kMeans(x, n: n, d: d, k: k, random: &seed)
        var mixture = FullCovarianceEM.moments(x, n: n, d: d, k: k, assign: km.assign, centers: km.centers)
        var previous = -Double.infinity
        var assign: [Int] = []
        for _ in 0..<30 {
            let step = FullCovarianceEM.run(x, n: n, d: d, k: k, mixture: &mixture, steps: 1)
            XCTAssertGreaterThanOrEqual(step.logLikelihood, previous - 1e-9, "EM's likelihood fell")
            previous = step.logLikelihood
            assign = step.assign
        }
        assign = FullCovarianceEM.run(x, n: n, d: d, k: k, mixture: &mixture, steps: 0).assign
        let agree = zip(assign, label).filter { $0 == $1 }.count
        XCTAssertGreaterThan(Double(max(agree, n - agree)) / Double(n), 0.97, "the tilted clusters were not recovered")
        // Each fitted component's covariance is the tilted one: variance 2.045 along both axes,
        // covariance ±1.955.
        for c in 0..<k {
            let cov = Array(mixture.covariances[(c * 4)..<(c * 4 + 4)])
            XCTAssertEqual(cov[0], 2.045, accuracy: 0.25)
            XCTAssertEqual(cov[3], 2.045, accuracy: 0.25)
            XCTAssertEqual(abs(cov[1]), 1.955, accuracy: 0.25)
            XCTAssertEqual(cov[1] > 0, mixture.means[c * 2] < 0, "the left cluster tilts up, the right one down")
        }
    }
}
