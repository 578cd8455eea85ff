@testable import Training
import XCTest

/// The scaling model's parts a user reads its table through: the alpha-beta fit recovers a
/// known link from its timings, the collective formulas give the textbook cost, and the step
/// prediction adds compute, exposed communication and Adam as documented.
final class ScalingModelTests: XCTestCase {
    func testFitRecoversAlphaAndBetaFromSyntheticTimings() throws {
        let truth = LinkCost(alpha: 12e-6, beta: 0.4e-9)
        for collective in Collective.allCases {
            var timings: [CollectiveTiming] = []
            for ranks in [2, 3] {
                for bytes in [1024.0, 16_384, 131_072, 1_048_576, 4_367_680] {
                    let terms = collective.ring(ranks: ranks)
                    timings.append(CollectiveTiming(collective: collective, ranks: ranks, bytes: bytes,
                                                    seconds: terms.latency * truth.alpha + terms.volume * bytes * truth.beta))
                }
            }
            let fit = try XCTUnwrap(AlphaBetaFit.fit(timings))
            XCTAssertEqual(fit.alpha, truth.alpha, accuracy: truth.alpha * 1e-9, "\(collective)")
            XCTAssertEqual(fit.beta, truth.beta, accuracy: truth.beta * 1e-9, "\(collective)")
        }
        // One message size cannot separate the two: no fit rather than a made-up one.
        XCTAssertNil(AlphaBetaFit.fit([CollectiveTiming(collective: .allreduce, ranks: 2, bytes: 64, seconds: 1e-5)]))
    }

    func testCollectiveFormulasForAKnownCase() {
        let link = LinkCost(alpha: 10e-6, beta: 1e-9)
        // Four ranks, 1 MB: ring 6 x 10 us + 1.5 x 1 ms; halving-doubling 4 x 10 us + the same.
        XCTAssertEqual(Collective.allreduce.seconds(bytes: 1e6, ranks: 4, link: link), 40e-6 + 1.5e-3, accuracy: 1e-12)
        XCTAssertEqual(Collective.reduceScatter.seconds(bytes: 1e6, ranks: 4, link: link), 20e-6 + 0.75e-3, accuracy: 1e-12)
        XCTAssertEqual(Collective.allgather.seconds(bytes: 1e6, ranks: 4, link: link), 20e-6 + 0.75e-3, accuracy: 1e-12)
        // Three ranks: the ring's 2 messages beat ceil(log2 3) = 2 only by a tie; 512 ranks: 18 x alpha, not 1022.
        XCTAssertEqual(Collective.allreduce.seconds(bytes: 0, ranks: 512, link: link), 18 * 10e-6, accuracy: 1e-12)
        XCTAssertEqual(Collective.allreduce.seconds(bytes: 1e6, ranks: 1, link: link), 0)
        // A reduction's arithmetic: (p-1)/p of the bytes added once.
        let withAdds = LinkCost(alpha: 0, beta: 0, gamma: 2e-9)
        XCTAssertEqual(Collective.allreduce.seconds(bytes: 1e6, ranks: 4, link: withAdds), 1.5e-3, accuracy: 1e-12)
        XCTAssertEqual(Collective.allgather.seconds(bytes: 1e6, ranks: 4, link: withAdds), 0)
        // 10 Gbit/s is 0.8 ns a byte.
        XCTAssertEqual(LinkCost.link(gigabitsPerSecond: 10, microseconds: 25, gamma: 0).beta, 0.8e-9, accuracy: 1e-15)
    }

    func testStepPredictionAddsItsParts() {
        let costs = StepCosts(parameterCount: 1_000_000, batches: [32, 64, 128], computeSeconds: [0.004, 0.006, 0.010],
                              adamSeconds: 0.002, synchronizationSeconds: 0, conversionSeconds: 1e-9, addSecondsPerByte: 0)
        XCTAssertEqual(costs.compute(batch: 96), 0.008, accuracy: 1e-12)
        XCTAssertEqual(costs.compute(batch: 256), 0.018, accuracy: 1e-12)
        XCTAssertEqual(costs.compute(batch: 16), 0.003, accuracy: 1e-12)
        var model = ScalingModel(costs: costs)
        model.tailBytes = 0
        let link = LinkCost(alpha: 10e-6, beta: 1e-9)
        let links = Dictionary(uniqueKeysWithValues: Collective.allCases.map { ($0, link) })
        let fused = model.predict(.fused, ranks: 4, batchPerRank: 64, links: links)
        XCTAssertEqual(fused.communicationSeconds, 40e-6 + 1.5 * 4e6 * 1e-9, accuracy: 1e-12)
        XCTAssertEqual(fused.stepSeconds, 0.006 + fused.communicationSeconds + 0.002, accuracy: 1e-12)
        // Sharded: the same bytes in two halves, and a quarter of Adam (plus the tail's allreduce latency).
        let sharded = model.predict(.sharded, ranks: 4, batchPerRank: 64, links: links)
        XCTAssertEqual(sharded.stepSeconds, 0.006 + 2 * (20e-6 + 0.75 * 4e6 * 1e-9) + 40e-6 + 0.0005, accuracy: 1e-12)
        // bf16: half the bytes, plus rounding every element.
        let bf16 = model.predict(.bf16, ranks: 4, batchPerRank: 64, links: links)
        XCTAssertEqual(bf16.communicationSeconds, 40e-6 + 1.5 * 2e6 * 1e-9 + 40e-6 + 1e6 * 1e-9, accuracy: 1e-12)
        // Buckets: nothing hidden (no progress thread), so the fused bytes with a latency a bucket, then the tail.
        let buckets = model.predict(.buckets(megabytes: 1), ranks: 4, batchPerRank: 64, links: links)
        let k = (4e6 / 1_048_576.0).rounded(.up)
        XCTAssertEqual(buckets.communicationSeconds, k * 40e-6 + 1.5 * 4e6 * 1e-9 + 40e-6, accuracy: 1e-12)
        // Waiting for the slowest rank counts once a step on more than one rank, never on one.
        var waiting = model
        waiting.costs.synchronizationSeconds = 0.001
        XCTAssertEqual(waiting.predict(.fused, ranks: 4, batchPerRank: 64, links: links).stepSeconds, fused.stepSeconds + 0.001,
                       accuracy: 1e-12)
        XCTAssertEqual(waiting.predict(.fused, ranks: 1, batchPerRank: 64, links: links).stepSeconds, 0.008, accuracy: 1e-12)
        // One rank's sharded step copies the arena out and back.
        waiting.costs.addSecondsPerByte = 1e-10
        XCTAssertEqual(waiting.predict(.sharded, ranks: 1, batchPerRank: 64, links: links).communicationSeconds, 2 * 4e6 * 1e-10,
                       accuracy: 1e-12)
        // One rank sends nothing: efficiency 1 by definition, and less on a slow link.
        XCTAssertEqual(model.efficiency(.fused, ranks: 1, batchPerRank: 64, links: links), 1, accuracy: 1e-12)
        XCTAssertLessThan(model.efficiency(.fused, ranks: 64, globalBatch: 4096, links: links), 1)
    }

    func testLinkListsAreParsedOrNamed() throws {
        XCTAssertEqual(try LinkSpec.parseList("10:25,100:5", flag: "links"),
                       [LinkSpec(gigabitsPerSecond: 10, microseconds: 25), LinkSpec(gigabitsPerSecond: 100, microseconds: 5)])
        XCTAssertThrowsError(try LinkSpec.parseList("10", flag: "links")) { XCTAssertTrue("\($0)".contains("--links expects")) }
        XCTAssertThrowsError(try LinkSpec.parseList("0:5", flag: "links"))
    }
}
