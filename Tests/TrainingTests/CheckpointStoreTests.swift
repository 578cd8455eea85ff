import Foundation
import XCTest
import SafeTensors
@testable import Training

/// A model-like set of tensors in one arena, as the training loop will hand them to `save`.
final class CheckpointFixture {
    let specs: [(name: String, shape: [Int])]
    let arena: UnsafeMutableBufferPointer<Float>

    init(specs: [(String, [Int])], seed: UInt32) {
        self.specs = specs.map { (name: $0.0, shape: $0.1) }
        let total = specs.reduce(0) { $0 + $1.1.reduce(1, *) }
        arena = .allocate(capacity: total)
        var x = seed
        for i in 0..<total {
            x = x &* 1_664_525 &+ 1_013_904_223
            arena[i] = Float(Int32(bitPattern: x)) / Float(Int32.max)
        }
    }

    deinit { arena.deallocate() }

    var tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] {
        var offset = 0
        return specs.map { s in
            let n = s.shape.reduce(1, *)
            defer { offset += n }
            return (s.name, s.shape, UnsafeBufferPointer(rebasing: arena[offset..<(offset + n)]))
        }
    }

    static func small(seed: UInt32) -> CheckpointFixture {
        CheckpointFixture(specs: [("encoder.0.weight", [4, 3]), ("encoder.0.bias", [4]),
                                  ("optimizer.m.encoder.0.weight", [4, 3]), ("optimizer.v.encoder.0.weight", [4, 3])],
                          seed: seed)
    }
}

func makeRunDirectory(_ label: String) throws -> String {
    let path = NSTemporaryDirectory() + "checkpoint-tests-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

final class CheckpointStoreTests: XCTestCase {
    var run = ""
    override func setUpWithError() throws { run = try makeRunDirectory("store") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: run) }

    func testSaveThenLoadGivesBitIdenticalTensorsAndMetadata() throws {
        let store = CheckpointStore(runDirectory: run)
        let fx = CheckpointFixture.small(seed: 1)
        fx.arena[0] = -0.0
        fx.arena[1] = Float(bitPattern: 0x7FC0_0ABC)
        let saved = try store.save(tensors: fx.tensors, metadata: ["epoch": "3", "model_config": #"{"latent":2}"#], tag: "e0003-s000469")
        XCTAssertEqual(saved.path, run + "/checkpoints/ckpt-e0003-s000469.safetensors")
        XCTAssertEqual(saved.byteCount, try FileManager.default.attributesOfItem(atPath: saved.path)[.size] as? Int)
        XCTAssertEqual(try String(contentsOfFile: store.latestPath, encoding: .utf8), "ckpt-e0003-s000469.safetensors\n")

        let loaded = try CheckpointStore.load(path: saved.path)
        XCTAssertTrue(loaded.isVerified)
        XCTAssertEqual(loaded.formatVersion, "1")
        XCTAssertEqual(loaded.metadata["epoch"], "3")
        XCTAssertEqual(loaded.metadata["model_config"], #"{"latent":2}"#)
        XCTAssertEqual(loaded.metadata["data_crc32"], Checksum.hex(saved.dataCRC32))
        XCTAssertNotNil(loaded.metadata["header_crc32"])
        XCTAssertEqual(loaded.tensorNames, fx.specs.map { $0.name })
        for t in fx.tensors {
            let got = try loaded.tensor(t.name)
            XCTAssertEqual(got.shape, t.shape)
            XCTAssertEqual(got.values.map { $0.bitPattern }, t.values.map { $0.bitPattern }, t.name)
        }
        // And into a destination buffer, checking the shape the model expects.
        let dst = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
        defer { dst.deallocate() }
        try loaded.copy("encoder.0.bias", shape: [4], into: dst)
        XCTAssertEqual(Array(dst), Array(fx.tensors[1].values))

        let newest = try store.loadNewestValid { XCTFail("unexpected warning: \($0)") }
        XCTAssertEqual(newest?.path, saved.path)
    }

    func testAnotherModelConfigurationIsAOneLineError() throws {
        let store = CheckpointStore(runDirectory: run)
        let saved = try store.save(tensors: CheckpointFixture.small(seed: 2).tensors, metadata: [:], tag: "a")
        let loaded = try CheckpointStore.load(path: saved.path)
        XCTAssertThrowsError(try loaded.values("encoder.0.weight", shape: [8, 3])) { e in
            XCTAssertEqual("\(e)", "\(saved.path): tensor 'encoder.0.weight' has shape [4, 3] but [8, 3] was expected (checkpoint of another model configuration?)")
        }
        XCTAssertThrowsError(try loaded.tensor("decoder.0.weight")) { e in
            XCTAssertEqual("\(e)", "\(saved.path): no tensor named 'decoder.0.weight' in the checkpoint")
        }
    }

    /// A full-covariance checkpoint from before its head emitted log s² names that head
    /// `encoder.logdiag`: the model it describes is refused with the reason, not loaded with
    /// weights that would mean another posterior.
    func testAnEarlierFullCovarianceHeadIsRefusedWithItsReason() throws {
        let store = CheckpointStore(runDirectory: run)
        let fx = CheckpointFixture(specs: [("encoder.mu.weight", [2, 3]), ("encoder.logdiag.weight", [2, 3]),
                                           ("encoder.lower.weight", [1, 3])], seed: 3)
        let saved = try store.save(tensors: fx.tensors, metadata: [:], tag: "old")
        let loaded = try CheckpointStore.load(path: saved.path)
        XCTAssertThrowsError(try loaded.tensor("encoder.logvar.weight")) { e in
            XCTAssertEqual("\(e)", "\(saved.path): a full-covariance checkpoint of an earlier version (its head emits log s as 'encoder.logdiag', this version's emits log s² as 'encoder.logvar'); retrain it with this version")
        }
    }

    func testPruningKeepsTheLastKAndNeverTheJustWrittenOrLatest() throws {
        let store = CheckpointStore(runDirectory: run, keepLast: 2)
        let fx = CheckpointFixture.small(seed: 3)
        for e in 1...5 { try store.save(tensors: fx.tensors, metadata: [:], tag: String(format: "e%04d-s%06d", e, e * 10)) }
        XCTAssertEqual(store.checkpointFileNames(), ["ckpt-e0004-s000040.safetensors", "ckpt-e0005-s000050.safetensors"])
        // A save whose tag sorts before the newest (a run resumed from an older checkpoint) is kept
        // although it is not among the last 2 by name, and `latest` points at it.
        let saved = try store.save(tensors: fx.tensors, metadata: [:], tag: "e0002-s000020")
        XCTAssertEqual(saved.pruned, [run + "/checkpoints/ckpt-e0004-s000040.safetensors"])
        XCTAssertEqual(store.checkpointFileNames(), ["ckpt-e0002-s000020.safetensors", "ckpt-e0005-s000050.safetensors"])
        XCTAssertEqual(try store.readLatestPointer(), "ckpt-e0002-s000020.safetensors")
        XCTAssertEqual(try store.loadNewestValid(warn: { XCTFail($0) })?.path, saved.path)

        let one = CheckpointStore(runDirectory: run, keepLast: 0)
        XCTAssertEqual(one.keepLast, 1)
    }

    func testBadTagsAreRefused() {
        let store = CheckpointStore(runDirectory: run)
        let fx = CheckpointFixture.small(seed: 4)
        for tag in ["", "../x", "a/b", ".hidden", "sp ace", "é"] {
            XCTAssertThrowsError(try store.save(tensors: fx.tensors, metadata: [:], tag: tag), tag) { e in
                XCTAssertTrue("\(e)".contains("checkpoint tag"), "\(e)")
            }
        }
        XCTAssertEqual(store.checkpointFileNames(), [])
    }

    func testInconsistentTensorIsRefusedBeforeAnythingIsWritten() throws {
        let store = CheckpointStore(runDirectory: run)
        let fx = CheckpointFixture.small(seed: 5)
        var tensors = fx.tensors
        tensors[1].shape = [5]
        XCTAssertThrowsError(try store.save(tensors: tensors, metadata: [:], tag: "bad")) { e in
            XCTAssertTrue("\(e)".hasPrefix(run + "/checkpoints/ckpt-bad.safetensors: tensor 'encoder.0.bias'"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.directory), [])
    }

    func testLoadNewestValidWithNothingThere() throws {
        let store = CheckpointStore(runDirectory: run + "/missing")
        XCTAssertNil(try store.loadNewestValid { XCTFail($0) })
        try FileManager.default.createDirectory(atPath: CheckpointStore(runDirectory: run).directory, withIntermediateDirectories: true)
        XCTAssertNil(try CheckpointStore(runDirectory: run).loadNewestValid { XCTFail($0) })
        // A file where the folder should be is an error, not "no checkpoint".
        let odd = try makeRunDirectory("odd")
        defer { try? FileManager.default.removeItem(atPath: odd) }
        _ = FileManager.default.createFile(atPath: odd + "/checkpoints", contents: Data())
        XCTAssertThrowsError(try CheckpointStore(runDirectory: odd).loadNewestValid { _ in })
    }

    func testWrongDtypeIsRefused() throws {
        var w = SafeTensorsWriter(metadata: ["format_version": "1"], includesChecksums: true)
        try w.add(name: "encoder.0.weight", shape: [2], values: [Double(1), 2])
        let path = run + "/f64.safetensors"
        try w.writeAtomically(to: path)
        XCTAssertThrowsError(try CheckpointStore.load(path: path)) { e in
            XCTAssertEqual("\(e)", "\(path): tensor 'encoder.0.weight' has dtype F64; checkpoints hold F32 tensors only")
        }
    }

    func testFilesWithoutChecksumsOrVersion() throws {
        var w = SafeTensorsWriter()
        try w.add(name: "x", shape: [1], values: [Float(1)])
        let path = run + "/plain.safetensors"
        try w.writeAtomically(to: path)
        XCTAssertThrowsError(try CheckpointStore.load(path: path)) { e in
            XCTAssertEqual("\(e)", "\(path): metadata has no data_crc32; not a checkpoint written by mpivae (or its header is damaged)")
        }
        let lenient = try CheckpointStore.load(path: path, requireChecksums: false)
        XCTAssertFalse(lenient.isVerified)
        XCTAssertEqual(try lenient.tensor("x").values, [1])

        var future = SafeTensorsWriter(metadata: ["format_version": "2"], includesChecksums: true)
        try future.add(name: "x", shape: [1], values: [Float(1)])
        try future.writeAtomically(to: path)
        XCTAssertThrowsError(try CheckpointStore.load(path: path)) { e in
            XCTAssertEqual("\(e)", "\(path): format_version is '2'; this build reads version 1")
        }
    }

    func testLoadFromBytesAsBroadcastFromRankZero() throws {
        let store = CheckpointStore(runDirectory: run)
        let fx = CheckpointFixture.small(seed: 6)
        let saved = try store.save(tensors: fx.tensors, metadata: ["step": "9"], tag: "s9")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: saved.path)))
        let loaded = try CheckpointStore.load(bytes: bytes, source: "rank0:" + saved.path)
        XCTAssertEqual(loaded.metadata["step"], "9")
        XCTAssertEqual(try loaded.tensor("encoder.0.weight").values, Array(fx.tensors[0].values))
        XCTAssertThrowsError(try CheckpointStore.load(bytes: Array(bytes.dropLast()), source: "rank0")) { e in
            XCTAssertTrue("\(e)".hasPrefix("rank0: "), "\(e)")
        }
    }
}
