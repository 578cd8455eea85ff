import TestSupport
import XCTest

/// What a user choosing `--shard-optimizer` relies on: the same training as without it, each
/// rank holding only its share of Adam's moments, and checkpoints that do not care how the run
/// that wrote them (or the one that resumes them) was sharded or on how many ranks.
final class ShardedOptimizerTests: EndToEndCase {
    static let steps = ["--epochs", "100", "--no-eval", "--no-explain"]

    private func run(_ extra: [String], ranks: Int, maxSteps: Int, out: String? = nil, resume: Bool = false) throws -> String {
        let dir = out ?? Tool.temporaryDirectory("sharded")
        let base = resume ? ["train", "--resume", dir] : Tool.small + ["--out", dir]
        try Tool.succeed(base + Self.steps + ["--max-steps", "\(maxSteps)"] + extra, ranks: ranks, timeout: 120)
        return dir
    }

    private func final(_ dir: String) throws -> [String: [Float]] { try Tool.tensors(try Tool.latestCheckpoint(dir)) }

    func testShardedTrainingFollowsTheUnshardedTrajectory() throws {
        // Two ranks: every element of a shard is a + b, as in the allreduce, so parameters and the
        // gathered moments are the unsharded ones bit for bit.
        let plain2 = try Tool.tensorBytes(try Tool.latestCheckpoint(try run([], ranks: 2, maxSteps: 60)))
        let sharded2 = try Tool.tensorBytes(try Tool.latestCheckpoint(try run(["--shard-optimizer"], ranks: 2, maxSteps: 60)))
        XCTAssertEqual(plain2.keys.sorted(), sharded2.keys.sorted())
        XCTAssertTrue(plain2.keys.contains { $0.hasPrefix("optimizer.m.") }, "the checkpoint lacks the moments")
        for (name, bytes) in plain2 { XCTAssertEqual(sharded2[name], bytes, "\(name) differs when sharded on 2 ranks") }

        // Three ranks: the reduce-scatter may add in another order than the allreduce, so the
        // trajectories part by rounding only (measured 4e-7 relative after 60 steps).
        let plain3 = try final(try run([], ranks: 3, maxSteps: 60))
        let sharded3 = try final(try run(["--shard-optimizer"], ranks: 3, maxSteps: 60))
        let diff = Tool.relativeDifference(plain3, sharded3)
        XCTAssertLessThan(diff, 1e-4, "sharded on 3 ranks drifted from unsharded by \(diff) (relative, parameters and moments)")
    }

    func testOneHostSumsInSharedMemoryAsTheCollectivesDo() throws {
        // On one host the sharded step sums and gathers in memory the ranks share; with
        // MPIVAE_NODE_SHARED_UPDATE=0 it uses the reduce-scatter and all-gather instead. Both add
        // each element over the ranks in rank order here, so the runs match bit for bit, on 2
        // ranks by a + b = b + a and on 3 because Open MPI's reduce-scatter adds in rank order too.
        for ranks in [2, 3] {
            let shared = Tool.temporaryDirectory("shared-\(ranks)")
            let args = Tool.small + Self.steps + ["--max-steps", "40", "--shard-optimizer", "--out", shared]
            let first = try Launcher.run("mpivae", ranks: ranks, arguments: args, timeout: 120)
            XCTAssertEqual(first.exitCode, 0, first.summary)
            XCTAssertTrue(first.stdout.contains("in memory the ranks of this host share"), first.stdout)
            let viaMPI = Tool.temporaryDirectory("collectives-\(ranks)")
            let second = try Launcher.run("mpivae", ranks: ranks, arguments: Array(args.dropLast()) + [viaMPI], timeout: 120,
                                          environment: ["MPIVAE_NODE_SHARED_UPDATE": "0"])
            XCTAssertEqual(second.exitCode, 0, second.summary)
            XCTAssertFalse(second.stdout.contains("in memory the ranks of this host share"), second.stdout)
            let a = try Tool.tensorBytes(try Tool.latestCheckpoint(shared))
            let b = try Tool.tensorBytes(try Tool.latestCheckpoint(viaMPI))
            XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
            for (name, bytes) in a { XCTAssertEqual(b[name], bytes, "\(name) differs between shared memory and collectives on \(ranks) ranks") }
        }
    }

    func testCheckpointsResumeAcrossShardingAndRankCounts() throws {
        let reference = try run([], ranks: 2, maxSteps: 60)
        let expected = try Tool.tensorBytes(try Tool.latestCheckpoint(reference))

        // Sharded to step 30, unsharded from there, and the other way round: on two ranks both
        // are the unsharded run bit for bit, so the saved moments were whole and in place.
        let shardedFirst = try run(["--shard-optimizer"], ranks: 2, maxSteps: 30)
        _ = try run(["--no-shard-optimizer"], ranks: 2, maxSteps: 60, out: shardedFirst, resume: true)
        let plainFirst = try run([], ranks: 2, maxSteps: 30)
        _ = try run(["--shard-optimizer"], ranks: 2, maxSteps: 60, out: plainFirst, resume: true)
        for dir in [shardedFirst, plainFirst] {
            let got = try Tool.tensorBytes(try Tool.latestCheckpoint(dir))
            for (name, bytes) in expected { XCTAssertEqual(got[name], bytes, "\(name) differs after resuming \(dir)") }
        }

        // Other rank counts: sharded on 3 resumed on 1, unsharded on 1 resumed sharded on 3; the
        // batch splits differently, so rounding apart.
        let wide = try run(["--shard-optimizer"], ranks: 3, maxSteps: 30)
        _ = try run(["--no-shard-optimizer"], ranks: 1, maxSteps: 60, out: wide, resume: true)
        let narrow = try run([], ranks: 1, maxSteps: 30)
        let resumed = try Tool.succeed(["train", "--resume", narrow] + Self.steps + ["--max-steps", "60", "--shard-optimizer"],
                                       ranks: 3, timeout: 120)
        XCTAssertTrue(resumed.stdout.contains("optimizer sharded over 3 ranks"), resumed.stdout)
        let want = try final(reference)
        for dir in [wide, narrow] {
            let diff = Tool.relativeDifference(want, try final(dir))
            XCTAssertLessThan(diff, 1e-3, "\(dir): resumed across rank counts, drifted by \(diff)")
        }
    }

    func testEachRankHoldsOnlyItsShareOfTheMoments() throws {
        let dir = Tool.temporaryDirectory("sharded-memory")
        let result = try Tool.succeed(Tool.small + Self.steps + ["--out", dir, "--max-steps", "2", "--shard-optimizer"], ranks: 3,
                                      timeout: 120)
        // Slices of whole 64-byte lines, one a rank, the last one shorter: a third of the moments each.
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("optimizer sharded over 3 ranks") }
        XCTAssertNotNil(line, result.stdout)
        guard let line, let total = Self.number(after: "of the ", in: line), let mine = Self.number(after: "moments for ", in: line),
              let most = Self.number(after: "at most ", in: line) else { return XCTFail("unreadable: \(result.stdout)") }
        XCTAssertEqual(mine % 16, 0)
        XCTAssertLessThan(most, total / 3 + 16)
        XCTAssertGreaterThanOrEqual(most * 3, total)
    }

    func testShardingBesideBucketsOrCompressionIsOneLine() throws {
        let bad = try Tool.run(Tool.small + ["--out", Tool.temporaryDirectory("sharded-bad"), "--shard-optimizer", "--grad-compression", "bf16"])
        XCTAssertNotEqual(bad.exitCode, 0, bad.summary)
        XCTAssertTrue(bad.stderr.contains("--shard-optimizer expects"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--grad-compression bf16"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, bad.stderr)
    }

    private static func number(after marker: String, in line: Substring) -> Int? {
        guard let r = line.range(of: marker) else { return nil }
        return Int(line[r.upperBound...].prefix { $0.isNumber })
    }
}
