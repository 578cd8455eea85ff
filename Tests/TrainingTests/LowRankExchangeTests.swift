import Datasets
import MPI
import VAE
import XCTest
@testable import Training

/// What `--grad-low-rank` promises a user: a gradient of rank at most R arrives exactly, biases
/// and loss sums arrive exactly, and what a step leaves out arrives in later steps (error
/// feedback), so on average the applied gradient is the true one.
final class LowRankExchangeTests: XCTestCase {
    // Two matrices and a bias between them; the tail holds three loss sums.
    let layout = [TensorSpec(name: "a.weight", shape: [30, 20], offset: 0),
                  TensorSpec(name: "a.bias", shape: [30], offset: 600),
                  TensorSpec(name: "b.weight", shape: [10, 4, 10], offset: 630)]
    let count = 1030, tail = 3

    private func exchange(rank: Int = 2) -> LowRankExchange {
        LowRankExchange(layout: layout, parameterCount: count, tailCount: tail, rank: rank, seed: 7, comm: Communicator.world)
    }

    /// Sum over r < rank of u_r v_rᵀ for each matrix, random values elsewhere.
    private func gradient(matrixRank: Int, seed: UInt64) -> [Float] {
        var g = [Float](repeating: 0, count: count + tail)
        var random = SplitMix64(seed: seed)
        func uniform() -> Float { 2 * random.nextUnitFloat() - 1 }
        for (offset, rows, columns) in [(0, 30, 20), (630, 10, 40)] {
            for _ in 0..<matrixRank {
                let u = (0..<rows).map { _ in uniform() }, v = (0..<columns).map { _ in uniform() }
                for i in 0..<rows { for j in 0..<columns { g[offset + i * columns + j] += u[i] * v[j] } }
            }
        }
        for i in 600..<630 { g[i] = uniform() }
        for t in 0..<tail { g[count + t] = Float(t) + 0.25 }
        return g
    }

    private func relative(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        let num = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +), den = b.map { $0 * $0 }.reduce(0, +)
        return (num / max(den, 1e-30)).squareRoot()
    }

    func testMatricesOfRankRArriveExactlyAndTheRestWhole() throws {
        XCTAssertEqual(Communicator.world.size, 1)
        let lowRank = exchange()
        XCTAssertEqual(lowRank.factors.map(\.spec.name), ["a.weight", "b.weight"])
        XCTAssertEqual(lowRank.whole, [600..<630])
        XCTAssertEqual(lowRank.messageFloats, (30 + 10) * 2 + 30 + tail + (20 + 40) * 2)
        let g = gradient(matrixRank: 2, seed: 1)
        var arena = g
        try arena.withUnsafeMutableBufferPointer { try lowRank.exchange($0) }
        XCTAssertLessThan(relative(arena[0..<600], g[0..<600]), 1e-5)
        XCTAssertLessThan(relative(arena[630..<1030], g[630..<1030]), 1e-5)
        XCTAssertEqual(Array(arena[600..<630]), Array(g[600..<630]), "the bias must travel whole")
        XCTAssertEqual(Array(arena[count...]), Array(g[count...]), "the loss sums must travel whole")
        let left = (0..<count).map { abs(lowRank.residual.buffer[$0]) }.max()!
        XCTAssertLessThan(left, 1e-4, "a rank-2 gradient leaves no residual at rank 2")
    }

    func testWhatAStepLeavesOutArrivesLater() throws {
        let lowRank = exchange(rank: 1)
        let g = gradient(matrixRank: 6, seed: 2)
        var applied = [Double](repeating: 0, count: count)
        let steps = 300
        var firstError: Float = 0
        for step in 0..<steps {
            var arena = g
            try arena.withUnsafeMutableBufferPointer { try lowRank.exchange($0) }
            if step == 0 { firstError = relative(arena[0..<600], g[0..<600]) }
            for i in 0..<count { applied[i] += Double(arena[i]) }
        }
        XCTAssertGreaterThan(firstError, 0.1, "a rank-6 matrix sent at rank 1 should not arrive whole in one step")
        let mean = applied.map { Float($0 / Double(steps)) }
        XCTAssertLessThan(relative(mean[0..<600], g[0..<600]), 0.03, "error feedback did not deliver the left-out part")
        XCTAssertLessThan(relative(mean[630..<1030], g[630..<1030]), 0.03)
        // The residual stays bounded: it holds one step's worth of what is left out, not a pile-up.
        let residualNorm = (0..<600).map { lowRank.residual.buffer[$0] * lowRank.residual.buffer[$0] }.reduce(0, +).squareRoot()
        let gradientNorm = g[0..<600].map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThan(residualNorm, 10 * gradientNorm)
    }

    func testANonFiniteStepIsClearedByReset() throws {
        let lowRank = exchange()
        var arena = gradient(matrixRank: 3, seed: 3)
        arena[5] = .nan
        try arena.withUnsafeMutableBufferPointer { try lowRank.exchange($0) }
        XCTAssertTrue(arena[0..<600].contains { !$0.isFinite })
        lowRank.reset()
        XCTAssertTrue((0..<count).allSatisfy { lowRank.residual.buffer[$0] == 0 })
        var next = gradient(matrixRank: 2, seed: 4)
        let expected = next
        try next.withUnsafeMutableBufferPointer { try lowRank.exchange($0) }
        XCTAssertLessThan(relative(next[0..<600], expected[0..<600]), 1e-5, "the exchange did not recover after reset")
    }
}
