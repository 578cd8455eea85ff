import XCTest
@testable import Linalg

final class BLASCoreSelectionTests: XCTestCase {
    let avx512: Set<String> = ["fma", "avx2", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]

    func testRecommendation() {
        XCTAssertEqual(BLASCoreSelection.recommendedCoreType(cpuFlags: avx512.union(["avx512_bf16"]), currentCore: "Haswell"), "Cooperlake")
        XCTAssertEqual(BLASCoreSelection.recommendedCoreType(cpuFlags: avx512, currentCore: "Zen"), "SkylakeX")
        XCTAssertNil(BLASCoreSelection.recommendedCoreType(cpuFlags: avx512, currentCore: "SkylakeX"))
        XCTAssertNil(BLASCoreSelection.recommendedCoreType(cpuFlags: avx512, currentCore: "Cooperlake"))
        XCTAssertNil(BLASCoreSelection.recommendedCoreType(cpuFlags: ["fma", "avx2"], currentCore: "Haswell"))
    }

    func testReadsFlagsOfThisMachine() {
        let flags = BLASCoreSelection.cpuFlags()
        #if arch(x86_64) && os(Linux)
        XCTAssertTrue(flags.contains("sse2"), "\(flags.count) flags")
        #endif
        XCTAssertTrue(BLASCoreSelection.cpuFlags(cpuinfoPath: "/nonexistent").isEmpty)
    }
}
