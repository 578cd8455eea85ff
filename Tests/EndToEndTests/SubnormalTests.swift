import Foundation
import TestSupport
import XCTest

/// Subnormal floats are flushed to zero on every thread that computes, the BLAS worker threads
/// included, unless the user opts out. Checked by values: `mpivae info` runs, on every rank, an
/// sgemm large enough for OpenBLAS to split across its threads and a training step of a model
/// whose every parameter is subnormal, and counts the subnormals that come out of them.
final class SubnormalTests: EndToEndCase {
    struct Probe {
        var threads: Int
        var flushedOnMainThread: Bool
        var sgemmSubnormal: Int, sgemmOutputs: Int
        var stepSubnormal: Int, stepValues: Int
    }

    /// The rank lines of `mpivae info`. With OPENBLAS_NUM_THREADS=2, as for a user who has not set
    /// it on a 2-core machine, OpenBLAS starts its worker thread when it loads, before main: the
    /// thread only the start-up hook reaches. (The tests' default of 1 would let the tool start
    /// the worker later, from a main thread that already flushes.)
    func probes(_ arguments: [String], ranks: Int? = nil, environment: [String: String] = [:]) throws -> [Probe] {
        let environment = ["OPENBLAS_NUM_THREADS": "2"].merging(environment) { _, given in given }
        let result = try Launcher.run("mpivae", ranks: ranks, arguments: ["info"] + arguments, timeout: 120, environment: environment)
        XCTAssertEqual(result.exitCode, 0, "\(arguments): \(result.summary)\n\(result.stdout)")
        let pattern = try NSRegularExpression(pattern:
            #"with (\d+) threads?, subnormals (flushed|kept): (\d+) of (\d+) sgemm outputs and (\d+) of (\d+) training-step values"#)
        return result.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  rank ") }.compactMap { line in
            let range = NSRange(line.startIndex..., in: line)
            guard let m = pattern.firstMatch(in: line, range: range) else { XCTFail("unexpected: \(line)"); return nil }
            let field = { (i: Int) in String(line[Range(m.range(at: i), in: line)!]) }
            return Probe(threads: Int(field(1))!, flushedOnMainThread: field(2) == "flushed",
                         sgemmSubnormal: Int(field(3))!, sgemmOutputs: Int(field(4))!,
                         stepSubnormal: Int(field(5))!, stepValues: Int(field(6))!)
        }
    }

    func testEveryThreadFlushesSubnormalsByDefaultWithOneAndTwoBLASThreads() throws {
        for threads in [1, 2] {
            let found = try probes(["--blas-threads", "\(threads)"])
            XCTAssertEqual(found.count, 1)
            for p in found {
                XCTAssertEqual(p.threads, threads)
                XCTAssertTrue(p.flushedOnMainThread)
                // A thread that kept subnormals would leave its block of the product subnormal.
                XCTAssertEqual(p.sgemmSubnormal, 0, "\(threads) BLAS threads: \(p.sgemmSubnormal) of \(p.sgemmOutputs) outputs subnormal")
                XCTAssertEqual(p.stepSubnormal, 0, "\(threads) BLAS threads: \(p.stepSubnormal) of \(p.stepValues) step values subnormal")
                XCTAssertGreaterThan(p.sgemmOutputs, 0)
                XCTAssertGreaterThan(p.stepValues, 0)
            }
        }
        // And on every rank of a job.
        for p in try probes(["--blas-threads", "2"], ranks: 2) {
            XCTAssertTrue(p.flushedOnMainThread)
            XCTAssertEqual(p.sgemmSubnormal + p.stepSubnormal, 0)
        }
    }

    func testTheFlagAndTheVariableKeepIEEESubnormals() throws {
        let ways: [(String, [String], [String: String])] = [
            ("--ieee-subnormals", ["--ieee-subnormals"], [:]),
            ("MPIVAE_IEEE_SUBNORMALS=1", [], ["MPIVAE_IEEE_SUBNORMALS": "1"]),
        ]
        for (name, flag, environment) in ways {
            for threads in [1, 2] {
                for p in try probes(flag + ["--blas-threads", "\(threads)"], environment: environment) {
                    XCTAssertEqual(p.threads, threads)
                    XCTAssertFalse(p.flushedOnMainThread, name)
                    XCTAssertEqual(p.sgemmSubnormal, p.sgemmOutputs, "\(name), \(threads) BLAS threads")
                    // Most of the subnormal model's activations and gradients stay subnormal.
                    XCTAssertGreaterThan(p.stepSubnormal, p.stepValues / 10, "\(name), \(threads) BLAS threads")
                }
            }
        }
        // Each rank of a job restarts itself for the flag.
        let ranks = try probes(["--ieee-subnormals"], ranks: 2)
        XCTAssertEqual(ranks.count, 2)
        for p in ranks { XCTAssertEqual(p.sgemmSubnormal, p.sgemmOutputs) }
        // "0" is not an opt-out.
        for p in try probes([], environment: ["MPIVAE_IEEE_SUBNORMALS": "0"]) { XCTAssertEqual(p.sgemmSubnormal, 0) }
    }

    func testEveryComputingCommandTakesTheFlag() throws {
        let out = Tool.temporaryDirectory("ieee")
        try Tool.succeed(Tool.small + ["--out", out, "--epochs", "1", "--no-explain", "--ieee-subnormals"])
        try Tool.succeed(["evaluate", "--checkpoint", out, "--data", "synthetic:n=1000", "--ieee-subnormals"])
        for command in ["explain", "bench"] {
            XCTAssertTrue(try Tool.succeed([command, "--help"]).stdout.contains("--ieee-subnormals"), command)
        }
    }
}
