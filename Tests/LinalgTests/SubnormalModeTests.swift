@testable import Linalg
import XCTest

final class SubnormalModeTests: XCTestCase {
    func testSubnormalsAreFoundByBitPatternWhateverTheMode() {
        let smallestNormal = Float.leastNormalMagnitude
        XCTAssertFalse(SubnormalMode.isSubnormal(0))
        XCTAssertFalse(SubnormalMode.isSubnormal(-0.0))
        XCTAssertFalse(SubnormalMode.isSubnormal(smallestNormal))
        XCTAssertFalse(SubnormalMode.isSubnormal(.infinity))
        XCTAssertFalse(SubnormalMode.isSubnormal(.nan))
        XCTAssertTrue(SubnormalMode.isSubnormal(Float(bitPattern: 1)))
        XCTAssertTrue(SubnormalMode.isSubnormal(-Float(bitPattern: 0x007f_ffff)))
        let values: [Float] = [1, Float(bitPattern: 5), 0, -Float(bitPattern: 0x0040_0000), 1e-30]
        XCTAssertEqual(values.withUnsafeBufferPointer { SubnormalMode.count($0) }, 2)
    }

    /// The flag restarts the tool with the variable set, once, and only for options before `--`.
    func testTheFlagAsksForTheVariable() throws {
        try XCTSkipIf(SubnormalMode.ieeeRequested, "this test process was started with the opt-out")
        XCTAssertEqual(SubnormalMode.environmentChanges(arguments: ["mpivae", "train", "--ieee-subnormals"]),
                       [SubnormalMode.optOutVariable: "1"])
        XCTAssertEqual(SubnormalMode.environmentChanges(arguments: ["mpivae", "train", "--epochs", "3"]), [:])
        XCTAssertEqual(SubnormalMode.environmentChanges(arguments: ["mpivae", "train", "--", "--ieee-subnormals"]), [:])
    }

    /// The test bundle is an executable with the same start-up hook as the tool, so the unit
    /// tests compute as the tool does; a thread created now, from a thread that flushes, flushes.
    func testThisProcessFlushesOnItsBLASThreads() throws {
        try XCTSkipIf(SubnormalMode.ieeeRequested, "this test process was started with the opt-out")
        XCTAssertTrue(SubnormalMode.startupHookRan)
        XCTAssertTrue(SubnormalMode.flushedOnThisThread)
        for threads in [1, 2] {
            let probe = SubnormalProbe.sgemm(threads: threads)
            XCTAssertEqual(probe.subnormalOutputs, 0, "\(threads) threads")
        }
        // Operands the compiler cannot fold (it would fold by IEEE rules).
        let unknown = CommandLine.arguments.isEmpty
        let tiny = Float(bitPattern: unknown ? 0x0002_0000 : 0x0001_0000), one: Float = unknown ? 2 : 1
        XCTAssertEqual(tiny * one, 0, "a subnormal input reads as zero")
        let normal: Float = unknown ? 1e-21 : 1e-20
        XCTAssertEqual(normal * normal, 0, "a subnormal result is flushed")
    }
}
