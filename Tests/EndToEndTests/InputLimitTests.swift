import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Input that would take unbounded memory or time is refused before it does: one line, at once,
/// in little memory. Each case runs under `ulimit -v`, so that if its refusal ever broke, the
/// test fails on an allocation trap instead of taking the machine's memory.
final class InputLimitTests: EndToEndCase {
    /// Peak resident memory of a refusal: the tool's own start-up (MPI, OpenBLAS) is about 40 MB.
    static let refusalMemory = 100 << 20

    /// Runs `mpivae args` alone under `ulimit -v <gib> GiB` and expects one error line mentioning
    /// each of `mentions`, fast and in little memory.
    @discardableResult
    func assertRefused(_ args: [String], mentions: [String], addressSpaceGiB: Int = 3, timeout: Double = 30,
                       file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let tool = try Launcher.executablePath("mpivae")
        // The peak is the tool's own, measured by GNU time around it: the rusage of a process
        // spawned from this test process also counts the test process's pages at the spawn
        // (posix_spawn shares its memory until the exec), hundreds of MiB late in the suite.
        let peakFile = Tool.temporaryDirectory("peak") + "/kib"
        let script = "ulimit -v \(addressSpaceGiB << 20) && exec /usr/bin/time -q -f %M -o \"$0\" \"$@\""
        let result = try ProcessRunner.run("/bin/sh", ["-c", script, peakFile, tool] + args, environment: Launcher.launchEnvironment(),
                                           timeout: timeout)
        let peakKiB = Int((try? String(contentsOfFile: peakFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        XCTAssertNotNil(peakKiB, "no peak memory measured for mpivae \(args)", file: file, line: line)
        let peakBytes = (peakKiB ?? Int.max >> 10) << 10
        // GNU time exits 128 + N when the tool died of signal N.
        XCTAssertLessThan(result.exitCode ?? 128, 128, "mpivae \(args) died of a signal: \(result.summary)", file: file, line: line)
        XCTAssertFalse(result.timedOut, "mpivae \(args) hung", file: file, line: line)
        XCTAssertNotNil(result.exitCode, "mpivae \(args) died of a signal: \(result.summary)", file: file, line: line)
        XCTAssertNotEqual(result.exitCode, 0, "mpivae \(args) succeeded", file: file, line: line)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, "expected one error line from \(args): \(result.stderr)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(result.stderr.contains(m), "error of \(args) should mention \(m): \(result.stderr)", file: file, line: line)
        }
        XCTAssertLessThan(peakBytes, Self.refusalMemory, "mpivae \(args) took \(peakBytes >> 20) MiB to refuse", file: file, line: line)
        // Well under a second on a quiet machine; the margin is for a loaded one.
        XCTAssertLessThan(result.seconds, 10, "mpivae \(args) took \(result.seconds) s to refuse", file: file, line: line)
        return result
    }

    /// A model of 1.9e9 parameters wants about 66 GiB for training (parameters, gradients, Adam's
    /// moments, checkpoints, evaluation, export); the old check counted the activations only
    /// and allocated the parameters first.
    func testAConfigurationTooLargeForMemoryIsRefusedBeforeAnyAllocation() throws {
        let dir = Tool.temporaryDirectory("oversized")
        try Data(#"{"hidden": [1200000], "data": "synthetic:n=1000"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/big.json"))
        try assertRefused(["train", "--config", dir + "/big.json", "--out", dir + "/run"],
                          mentions: ["train needs about", "parameters", "Adam's moments", "explanation export", "ulimit -v"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run/config.json"))
    }

    /// bench sizes its model and batch like train does: an AlexNet step at 65,536 rows a rank
    /// wants tens of GiB, which used to be found by the allocation.
    func testABenchTooLargeForMemoryIsRefusedBeforeAnyAllocation() throws {
        try assertRefused(["bench", "--architecture", "alexnet", "--batch-size", "65536", "--warmup-steps", "0"],
                          mentions: ["bench needs about", "step activations", "--batch-size"])
    }

    /// A checkpoint whose model_config was edited to a huge model, with checksums made to hold:
    /// its tensors do not have the configuration's shapes, which is checked before a model of
    /// that configuration is built.
    func testAForgedCheckpointConfigurationIsRefusedBeforeTheModelIsBuilt() throws {
        let out = Tool.temporaryDirectory("forged-size")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--no-eval"])
        let checkpoint = try Tool.latestCheckpoint(out)
        let huge = #"{"activation":"relu","beta":1,"binarize":false,"decoderHidden":[400000],"encoderHidden":[400000],"inputDim":784,"latent":3,"likelihood":"bernoulli"}"#
        try ForgedCheckpointTests.resign(checkpoint, ["model_config": huge])
        for command in [["evaluate", "--checkpoint", checkpoint, "--data", "synthetic:n=1000"],
                        ["explain", "--checkpoint", checkpoint, "--data", "synthetic:n=1000", "--out", out + "/x"]] {
            try assertRefused(command, mentions: ["encoder.0.weight", "[400000, 784]"])
        }
    }

    /// Devices, FIFOs and sockets as data: a character device never ends and a FIFO blocks the
    /// open; both used to be opened and read.
    func testOnlyRegularFilesAreReadAsData() throws {
        let dir = Tool.temporaryDirectory("special")
        try FileManager.default.createSymbolicLink(atPath: dir + "/zero.npy", withDestinationPath: "/dev/zero")
        XCTAssertEqual(mkfifo(dir + "/pipe.csv", 0o600), 0)
        try FileManager.default.createDirectory(atPath: dir + "/idx", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(dir + "/idx/train-images-idx3-ubyte", 0o600), 0)
        XCTAssertEqual(mkfifo(dir + "/config.json", 0o600), 0)
        try assertRefused(["train", "--data", dir + "/zero.npy", "--out", dir + "/r"], mentions: ["zero.npy", "character device"])
        try assertRefused(["train", "--data", dir + "/pipe.csv", "--out", dir + "/r"], mentions: ["pipe.csv", "FIFO"])
        try assertRefused(["train", "--data", dir + "/idx", "--out", dir + "/r"], mentions: ["train-images-idx3-ubyte", "FIFO"])
        try assertRefused(["train", "--config", dir + "/config.json"], mentions: ["config.json", "FIFO"])
        try assertRefused(["evaluate", "--checkpoint", "/dev/zero", "--data", "synthetic:n=100"], mentions: ["/dev/zero", "character device"])
    }

    /// A gzip IDX file whose header declares 10 images but whose stream holds 256 MiB: inflation
    /// stops one byte past the declared size instead of inflating all of it first.
    func testGzipStopsAtTheSizeItsHeaderDeclares() throws {
        let dir = Tool.temporaryDirectory("gzip-lie")
        var header: [UInt8] = [0, 0, 8, 3]
        for d in [10, 28, 28] { header += [0, 0, UInt8(d >> 8), UInt8(d & 0xff)] }
        try Data(header).write(to: URL(fileURLWithPath: dir + "/header"))
        let made = try ProcessRunner.run("/bin/sh", ["-c", "cat \"$0/header\" /dev/zero | head -c 268435456 | gzip -1 > \"$0/train-images-idx3-ubyte.gz\"", dir],
                                         environment: Launcher.launchEnvironment(), timeout: 120)
        XCTAssertEqual(made.exitCode, 0, made.summary)
        try assertRefused(["train", "--data", dir, "--out", dir + "/r"], mentions: ["train-images-idx3-ubyte.gz", "7856 bytes its header declares"])
    }
}
