import Foundation
import XCTest
import SafeTensors
@testable import Training

/// Cost of checkpointing the benchmark model (1,091,920 parameters plus Adam's m and v). Prints
/// figures, asserts none (speed lives in benchmarks, not in test verdicts). Runs only when
/// MPIVAE_CHECKPOINT_TIMING=1, meant for a release build:
///   MPIVAE_CHECKPOINT_TIMING=1 swift test -c release -Xswiftc -enable-testing --filter CheckpointTimingTests
final class CheckpointTimingTests: XCTestCase {
    static let benchmarkLayers: [(String, Int, Int)] = [
        ("encoder.0", 784, 512), ("encoder.1", 512, 256), ("encoder.mu", 256, 32), ("encoder.logvar", 256, 32),
        ("decoder.0", 32, 256), ("decoder.1", 256, 512), ("decoder.out", 512, 784),
    ]

    func testSaveAndLoadTimeOfTheBenchmarkModel() throws {
        guard ProcessInfo.processInfo.environment["MPIVAE_CHECKPOINT_TIMING"] == "1" else {
            throw XCTSkip("set MPIVAE_CHECKPOINT_TIMING=1 to measure")
        }
        var specs: [(String, [Int])] = []
        for (name, fanIn, fanOut) in Self.benchmarkLayers {
            specs += [(name + ".weight", [fanOut, fanIn]), (name + ".bias", [fanOut])]
        }
        specs = specs + specs.map { ("optimizer.m." + $0.0, $0.1) } + specs.map { ("optimizer.v." + $0.0, $0.1) }
        let fx = CheckpointFixture(specs: specs, seed: 1)
        XCTAssertEqual(fx.arena.count, 3 * 1_091_920)

        let run = try makeRunDirectory("timing")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let store = CheckpointStore(runDirectory: run, keepLast: 3)
        let metadata = ["model_config": String(repeating: "x", count: 400), "epoch": "1", "step": "469"]
        var saves: [Double] = []
        var loads: [Double] = []
        var bytes = 0
        for i in 0..<9 {
            let saved = try store.save(tensors: fx.tensors, metadata: metadata, tag: String(format: "e%04d", i))
            saves.append(saved.seconds * 1000)
            bytes = saved.byteCount
            let clock = ContinuousClock()
            let start = clock.now
            let loaded = try CheckpointStore.load(path: saved.path)
            let d = clock.now - start
            loads.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15)
            XCTAssertTrue(loaded.isVerified)
        }
        func stats(_ v: [Double]) -> String {
            let s = v.sorted()
            return String(format: "median %.1f ms, min %.1f, max %.1f", s[s.count / 2], s.first!, s.last!)
        }
        print("checkpoint of \(fx.arena.count) floats (\(bytes) bytes): save \(stats(saves)) (fsyncs included); load+verify \(stats(loads))")
    }
}
