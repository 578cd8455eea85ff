import XCTest
@testable import VAE

final class SmokeTests: XCTestCase {
    func testBenchmarkModelHasDesignParameterCount() {
        let model = VAEModel(config: .benchmark, seed: 0)
        XCTAssertEqual(model.parameterCount, 1_091_920)
        XCTAssertEqual(model.fullGemmFlopsPerSample, 6_537_216)
    }
}
