import Datasets
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// The built `mpivae` as the tests drive it: small synthetic problems that train in about a
/// second, alone or under mpirun.
enum Tool {
    /// A model and data small enough for many runs in one suite; its 1,000 training samples are
    /// not a multiple of the batch of 60, so every epoch ends with a short batch.
    static let small = ["train", "--data", "synthetic:n=1000", "--hidden", "48", "--latent", "3", "--batch-size", "60", "--seed", "3"]

    @discardableResult
    static func run(_ args: [String], ranks: Int? = nil, timeout: Double = 180,
                    file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try Launcher.run("mpivae", ranks: ranks, arguments: args, timeout: timeout)
    }

    /// Runs and requires success, with the output in the failure message.
    @discardableResult
    static func succeed(_ args: [String], ranks: Int? = nil, timeout: Double = 180,
                        file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let result = try run(args, ranks: ranks, timeout: timeout)
        XCTAssertEqual(result.exitCode, 0, "mpivae \(args.joined(separator: " ")) on \(ranks ?? 1) rank(s): \(result.summary)\n\(result.stdout)", file: file, line: line)
        XCTAssertFalse(result.timedOut, file: file, line: line)
        return result
    }

    /// One job of two ranks started with different arguments (mpirun's `a : b` form): what a
    /// misconfigured launch looks like.
    static func runDisagreeing(_ first: [String], _ second: [String], timeout: Double = 60) throws -> ProcessResult {
        let tool = try Launcher.executablePath("mpivae")
        let args = Launcher.mpirunArguments(ranks: 1) + [tool] + first + [":", "-np", "1", tool] + second
        return try ProcessRunner.run("mpirun", args, environment: Launcher.launchEnvironment(), timeout: timeout)
    }

    /// Run directories of this test process, all under one folder that `EndToEndCase` removes.
    static let temporaryRoot = FileManager.default.temporaryDirectory.appendingPathComponent("mpivae-e2e-\(getpid())").path

    static func temporaryDirectory(_ name: String) -> String {
        let dir = temporaryRoot + "/\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The newest checkpoint a run directory's `latest` names.
    static func latestCheckpoint(_ run: String) throws -> String {
        let name = try String(contentsOfFile: run + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return run + "/checkpoints/" + name
    }

    /// Every tensor's raw bytes, by name.
    static func tensorBytes(_ path: String) throws -> [String: [UInt8]] {
        let file = try SafeTensorsFile.read(path: path)
        var out: [String: [UInt8]] = [:]
        for t in file.tensors { out[t.name] = try file.withRawBytes(t.name) { Array($0) } }
        return out
    }

    static func tensors(_ path: String) throws -> [String: [Float]] {
        let file = try SafeTensorsFile.read(path: path)
        var out: [String: [Float]] = [:]
        for t in file.tensors { out[t.name] = try file.floats(t.name) }
        return out
    }

    static func metadata(_ path: String) throws -> [String: String] {
        try SafeTensorsFile.read(path: path).metadata
    }

    /// Largest absolute difference between two runs' tensors, relative to the largest magnitude.
    static func relativeDifference(_ a: [String: [Float]], _ b: [String: [Float]], prefix: String = "") -> Float {
        var worst: Float = 0
        for (name, x) in a where name.hasPrefix(prefix) {
            guard let y = b[name], y.count == x.count else { return .infinity }
            let scale = max(x.map(abs).max() ?? 0, 1e-6)
            for i in x.indices { worst = max(worst, abs(x[i] - y[i]) / scale) }
        }
        return worst
    }

    /// The per-epoch `train -ELBO` figures a run printed.
    static func trainLosses(_ stdout: String) -> [Double] {
        stdout.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasPrefix("epoch "), let r = line.range(of: "train -ELBO ") else { return nil }
            return Double(line[r.upperBound...].prefix { $0 != " " })
        }
    }
}

/// End-to-end test classes leave no run directories behind.
class EndToEndCase: XCTestCase {
    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: Tool.temporaryRoot)
        super.tearDown()
    }
}
