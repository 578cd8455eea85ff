import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Bad input of any kind: one line on stderr that names the problem, a non-zero exit, no crash,
/// and nothing already saved is lost.
final class BadInputTests: EndToEndCase {
    func assertOneLineError(_ args: [String], ranks: Int? = nil, mentions: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Tool.run(args, ranks: ranks, timeout: 60)
        XCTAssertFalse(result.timedOut, "mpivae \(args) hung", file: file, line: line)
        XCTAssertNotNil(result.exitCode, "mpivae \(args) died of a signal: \(result.summary)", file: file, line: line)
        XCTAssertNotEqual(result.exitCode, 0, "mpivae \(args) succeeded", file: file, line: line)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, "expected one error line from \(args): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(mentions), "error of \(args) should mention \(mentions): \(result.stderr)", file: file, line: line)
    }

    func testFlagsAndConfigs() throws {
        try assertOneLineError(["train", "--bogus"], mentions: "--bogus")
        try assertOneLineError(["train", "--epochs", "ten"], mentions: "ten")
        try assertOneLineError(["train", "--epochs", "0"], mentions: "--epochs")
        try assertOneLineError(["train", "--hidden", "512,,256"], mentions: "--hidden")
        try assertOneLineError(["train", "--likelihood", "poisson"], mentions: "poisson")
        try assertOneLineError(["train", "--lr", "-1"], mentions: "--lr")
        try assertOneLineError(["train", "--activation", "swish"], ranks: 2, mentions: "swish")
        let dir = Tool.temporaryDirectory("config")
        try Data(#"{"epochs": 2, "learningRate": 0.1}"#.utf8).write(to: URL(fileURLWithPath: dir + "/c.json"))
        try assertOneLineError(["train", "--config", dir + "/c.json"], mentions: "learningRate")
        try Data(#"{"epochs": "two"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/d.json"))
        try assertOneLineError(["train", "--config", dir + "/d.json"], mentions: "epochs")
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: dir + "/e.json"))
        try assertOneLineError(["train", "--config", dir + "/e.json"], mentions: "e.json")
        try assertOneLineError(["train", "--config", dir + "/missing.json"], mentions: "missing.json")
    }

    func testDataFiles() throws {
        let dir = Tool.temporaryDirectory("data")
        try assertOneLineError(["train", "--data", dir + "/nothing.npy", "--out", dir + "/r"], mentions: "nothing.npy")
        try Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]).write(to: URL(fileURLWithPath: dir + "/cut.npy"))
        try assertOneLineError(["train", "--data", dir + "/cut.npy", "--out", dir + "/r"], ranks: 2, mentions: "cut.npy")
        try Data("1,2,3\n4,five,6\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.csv"))
        try assertOneLineError(["train", "--data", dir + "/bad.csv", "--out", dir + "/r"], mentions: "bad.csv")
        try assertOneLineError(["train", "--data", "no-such-dataset", "--out", dir + "/r"], mentions: "no-such-dataset")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r/config.json"))
        // Control bytes quoted from a file are shown, not sent to the terminal.
        try Data("1,2\r,3\n4,5\u{0},6\n".utf8).write(to: URL(fileURLWithPath: dir + "/control.csv"))
        try assertOneLineError(["train", "--data", dir + "/control.csv", "--out", dir + "/r"], mentions: "\\x")
        let quoted = try Tool.run(["train", "--data", dir + "/control.csv", "--out", dir + "/r"])
        XCTAssertFalse(quoted.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, quoted.stderr)
    }

    func testAnExistingRunIsNeverOverwritten() throws {
        let out = Tool.temporaryDirectory("existing")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let before = try Tool.tensorBytes(try Tool.latestCheckpoint(out))
        try assertOneLineError(Tool.small + ["--out", out, "--epochs", "1"], mentions: "--resume")
        XCTAssertEqual(try Tool.tensorBytes(try Tool.latestCheckpoint(out)), before)
        try assertOneLineError(["train", "--resume", out + "/nothere"], mentions: "nothere")
    }

    /// A full disk under the metrics log costs a warning and the records, never the run; a full
    /// stderr never turns an error line into a crash.
    func testAFullDeviceIsNeverACrash() throws {
        let out = Tool.temporaryDirectory("full-device")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let metrics = out + "/metrics.jsonl"
        try FileManager.default.removeItem(atPath: metrics)
        try FileManager.default.createSymbolicLink(atPath: metrics, withDestinationPath: "/dev/full")
        for ranks in [nil, 2] as [Int?] {
            let epochs = ranks == nil ? "2" : "3"
            let resumed = try Tool.succeed(["train", "--resume", out, "--epochs", epochs, "--no-explain"], ranks: ranks)
            let warnings = resumed.stderr.split(separator: "\n").filter { $0.contains("cannot write metrics") }
            XCTAssertEqual(warnings.count, 1, resumed.stderr)
            let latest = try Tool.latestCheckpoint(out)
            XCTAssertTrue(latest.contains("ckpt-e00000\(epochs)"), latest)
        }

        let tool = try Launcher.executablePath("mpivae")
        let failed = try ProcessRunner.run("/bin/sh", ["-c", "exec \"$0\" train --data nowhere.npy --out \"$1\" 2>/dev/full", tool, out + "/x"],
                                           environment: Launcher.launchEnvironment(), timeout: 60)
        XCTAssertNotNil(failed.exitCode, "died of a signal: \(failed.summary)")
        XCTAssertNotEqual(failed.exitCode, 0)
    }

    func testBadCheckpoints() throws {
        let out = Tool.temporaryDirectory("badckpt")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let good = try Tool.latestCheckpoint(out)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let flipped = out + "/flipped.safetensors"
        bytes[bytes.count - 100] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        try assertOneLineError(["inspect", flipped], mentions: "flipped.safetensors")
        try assertOneLineError(["evaluate", "--checkpoint", flipped, "--data", "synthetic:n=1000"], mentions: "flipped.safetensors")
        try assertOneLineError(["evaluate", "--checkpoint", flipped, "--data", "synthetic:n=1000"], ranks: 2, mentions: "flipped.safetensors")
        let cut = out + "/cut.safetensors"
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: cut))
        try assertOneLineError(["explain", "--checkpoint", cut, "--data", "synthetic:n=1000", "--out", out + "/x"], mentions: "cut.safetensors")
        // The model takes 784 values a sample; a 5-column CSV does not fit it.
        try Data("1,2,3,4,5\n5,4,3,2,1\n".utf8).write(to: URL(fileURLWithPath: out + "/five.csv"))
        try assertOneLineError(["evaluate", "--checkpoint", good, "--data", out + "/five.csv", "--split", "train"], mentions: "784")
    }
}

/// Files cut short anywhere, through the tool itself: always one error line, never a signal.
final class TruncatedFileTests: EndToEndCase {
    func testTruncatedDataAndCheckpointsGiveOneLineErrors() throws {
        let dir = Tool.temporaryDirectory("truncated")
        // A tiny model on a 4-column CSV, so its checkpoint is small.
        var csv = ""
        for i in 0..<60 { csv += (0..<4).map { String(Float((i * 7 + $0 * 3) % 10) / 10) }.joined(separator: ",") + "\n" }
        try Data(csv.utf8).write(to: URL(fileURLWithPath: dir + "/t.csv"))
        try Tool.succeed(["train", "--data", dir + "/t.csv", "--out", dir + "/run", "--hidden", "3", "--latent", "1",
                          "--batch-size", "10", "--epochs", "1", "--likelihood", "gaussian", "--no-explain", "--no-eval"])
        let ckpt = try Tool.latestCheckpoint(dir + "/run")
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ckpt)))
        // Offsets spread over the header-length field, the JSON header and the data section.
        let offsets = Array(Set((0..<12).map { $0 } + stride(from: 12, to: whole.count, by: max(1, whole.count / 40)).map { $0 }
                               + [whole.count - 1])).sorted()
        for cut in offsets {
            let path = dir + "/cut-\(cut).safetensors"
            try Data(whole.prefix(cut)).write(to: URL(fileURLWithPath: path))
            let result = try Tool.run(["inspect", path], timeout: 30)
            XCTAssertNotNil(result.exitCode, "inspect of a file cut at \(cut) died of a signal")
            XCTAssertNotEqual(result.exitCode, 0, "a checkpoint cut at \(cut) of \(whole.count) bytes was accepted")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "cut at \(cut): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("cut-\(cut).safetensors"), result.stderr)
        }

        // The same for an NPY data file given to training.
        var npy: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        npy += [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
        for i in 0..<32 { withUnsafeBytes(of: Float(i % 10) / 10) { npy += $0 } }
        for cut in stride(from: 0, to: npy.count, by: 7) {
            let path = dir + "/cut-\(cut).npy"
            try Data(npy.prefix(cut)).write(to: URL(fileURLWithPath: path))
            let result = try Tool.run(["train", "--data", path, "--out", dir + "/never-\(cut)", "--hidden", "3", "--latent", "1"], timeout: 30)
            XCTAssertNotNil(result.exitCode, "an NPY cut at \(cut) killed the tool")
            XCTAssertNotEqual(result.exitCode, 0)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "cut at \(cut): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("cut-\(cut).npy"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/never-\(cut)/config.json"))
        }
    }
}

/// Checkpoints whose checksums hold but whose contents no run of this tool could have written:
/// edited by hand, or by another tool that re-signed them.
final class ForgedCheckpointTests: EndToEndCase {
    /// Rewrites `path` with `changes` applied to its metadata and fresh checksums, so that only
    /// the values themselves can be refused.
    static func resign(_ path: String, _ changes: [String: String]) throws {
        let file = try SafeTensorsFile.read(path: path)
        var writer = SafeTensorsWriter(metadata: file.metadata.merging(changes) { $1 }, includesChecksums: true)
        for t in file.tensors { try writer.add(name: t.name, shape: t.shape, values: try file.floats(t.name)) }
        try writer.writeAtomically(to: path)
    }

    /// A step count or sample position near Int.max used to overflow the step counter or the next
    /// checkpoint's position (a trap with a backtrace), and Adam's step count made every step NaN.
    func testPositionsNoRunCouldReachAreRefusedOnResume() throws {
        let base = Tool.temporaryDirectory("forged-base")
        try Tool.succeed(Tool.small + ["--out", base, "--epochs", "1", "--no-explain", "--no-eval"])
        let cases: [(key: String, value: String, args: [String])] = [
            ("step", "9223372036854775807", ["--epochs", "3"]),
            ("sample_position", "9223372036854775000", ["--epochs", "9223372036854775807"]),
            ("adam_step", "9223372036854775807", ["--epochs", "3"]),
        ]
        for c in cases {
            let out = Tool.temporaryDirectory("forged-\(c.key)")
            try FileManager.default.removeItem(atPath: out)
            try FileManager.default.copyItem(atPath: base, toPath: out)
            let checkpoint = try Tool.latestCheckpoint(out)
            try Self.resign(checkpoint, [c.key: c.value])
            let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
            let result = try Tool.run(["train", "--resume", out, "--no-explain"] + c.args, timeout: 60)
            XCTAssertNotNil(result.exitCode, "\(c.key) \(c.value): died of a signal: \(result.summary)")
            XCTAssertNotEqual(result.exitCode, 0, "\(c.key) \(c.value) was accepted: \(result.stdout)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            XCTAssertEqual(errors.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("\"\(c.key)\""), result.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), before, "\(c.key): the checkpoint changed")
        }
    }

    /// A run whose checkpoints all fail to load (here: written by a newer format) used to start
    /// over from step 0 and write its new checkpoints over them, names and pruning included.
    func testResumeNeverOverwritesCheckpointsItCannotRead() throws {
        let out = Tool.temporaryDirectory("unreadable")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let checkpoint = try Tool.latestCheckpoint(out)
        try Self.resign(checkpoint, ["format_version": "2"])
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        for ranks in [nil, 2] as [Int?] {
            let result = try Tool.run(["train", "--resume", out, "--epochs", "2", "--no-explain"], ranks: ranks, timeout: 60)
            XCTAssertNotNil(result.exitCode, result.summary)
            XCTAssertNotEqual(result.exitCode, 0, "resumed over an unreadable checkpoint: \(result.stdout)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            XCTAssertEqual(errors.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(out + "/checkpoints"), result.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), before)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints").sorted(),
                           [(checkpoint as NSString).lastPathComponent, "latest"])
        }
        // With no checkpoint at all (a run stopped before its first), resuming starts from the beginning.
        try FileManager.default.removeItem(atPath: checkpoint)
        let fresh = try Tool.succeed(["train", "--resume", out, "--epochs", "1", "--no-explain"])
        XCTAssertTrue(fresh.stdout.contains("starting from the beginning"), fresh.stdout)
    }
}

/// Counts past 2^31 print and name checkpoints in full: "%d" took 32 bits of a Swift Int, so
/// `--epochs 3000000000` printed as -1294967296 and a step past 2^32 gave a wrapped checkpoint tag.
final class LargeCountTests: EndToEndCase {
    func testCountsBeyond32BitsAreWrittenInFull() throws {
        let out = Tool.temporaryDirectory("large-counts")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        try ForgedCheckpointTests.resign(try Tool.latestCheckpoint(out), ["step": "4294967313", "adam_step": "4294967313"])
        let result = try Tool.succeed(["train", "--resume", out, "--epochs", "3000000000", "--max-steps", "4294967347", "--no-explain"])
        XCTAssertTrue(result.stdout.contains("epoch 2/3000000000 "), result.stdout)
        XCTAssertEqual((try Tool.latestCheckpoint(out) as NSString).lastPathComponent, "ckpt-e000003-s4294967347.safetensors")
    }
}
