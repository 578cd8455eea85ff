import XCTest
@testable import Datasets

/// Hungarian accuracy and NMI against cases worked by hand: perfect and permuted agreement, ties,
/// empty clusters, more and fewer clusters than labels, and a matching that greedy would get wrong.
final class ClusterAgreementTests: XCTestCase {
    func testPermutedClustersAgreeFully() {
        // Clusters 0, 1, 2 are labels 2, 0, 1.
        let a = ClusterAgreement(clusters: [0, 0, 1, 1, 2, 2], labels: [2, 2, 0, 0, 1, 1], clusterCount: 3, labelCount: 3)
        XCTAssertEqual(a.accuracy, 1)
        XCTAssertEqual(a.nmi, 1, accuracy: 1e-12)
        XCTAssertEqual(a.matching, [2, 0, 1])
        XCTAssertEqual(a.clusterSizes, [2, 2, 2])
    }

    func testAssignmentNotGreedy() {
        // Greedy would match cluster 0 to label 0 (5) and leave cluster 1 with label 1 (0): 5 of 14.
        // The best matching is 0 -> 1 and 1 -> 0: (4 + 4) / 14.
        let a = ClusterAgreement(counts: [[5, 4], [4, 1]])
        XCTAssertEqual(a.matching, [1, 0])
        XCTAssertEqual(a.accuracy, 8.0 / 14.0, accuracy: 1e-12)
    }

    func testMoreClustersThanLabelsLeavesClustersUnmatched() {
        // Three clusters, two labels: at most two clusters are matched; the third's 2 samples are wrong.
        let a = ClusterAgreement(counts: [[3, 0], [0, 3], [1, 1]])
        XCTAssertEqual(a.accuracy, 6.0 / 8.0, accuracy: 1e-12)
        XCTAssertEqual(a.matching, [0, 1, nil])
        // NMI by hand: H(C) = −(3/8 ln 3/8 · 2 + 2/8 ln 2/8), H(Y) = ln 2, I = Σ p ln(p / (pc py)).
        let hc = -(2 * 0.375 * log(0.375) + 0.25 * log(0.25)), hy = log(2.0)
        let mi = 2 * 0.375 * log(0.375 / (0.375 * 0.5)) + 2 * 0.125 * log(0.125 / (0.25 * 0.5))
        XCTAssertEqual(a.nmi, mi / ((hc + hy) / 2), accuracy: 1e-12)
    }

    func testFewerClustersThanLabels() {
        // Two clusters, three labels: the best two labels are matched, the third label's samples are wrong.
        let a = ClusterAgreement(counts: [[4, 1, 2], [0, 3, 2]])
        XCTAssertEqual(a.accuracy, 7.0 / 12.0, accuracy: 1e-12)
        XCTAssertEqual(a.matching.compactMap { $0 }.count, 2)
    }

    func testEmptyClusterAndTies() {
        // Cluster 1 is empty; clusters 0 and 2 tie on both labels: any matching scores 2 of 4.
        let a = ClusterAgreement(counts: [[1, 1], [0, 0], [1, 1]])
        XCTAssertEqual(a.accuracy, 0.5, accuracy: 1e-12)
        XCTAssertEqual(a.nmi, 0, accuracy: 1e-12, "independent of the labels")
        XCTAssertEqual(a.clusterSizes, [2, 0, 2])
        // The empty cluster is never the reason a sample counts as matched.
        let b = ClusterAgreement(counts: [[2, 0], [0, 0], [0, 2]])
        XCTAssertEqual(b.accuracy, 1)
        XCTAssertEqual(b.nmi, 1, accuracy: 1e-12)
        XCTAssertNil(b.matching[1])
    }

    func testSingleClusterConventions() {
        // Everything in one cluster: NMI 0 against two labels, 1 against one label (scikit-learn's convention).
        XCTAssertEqual(ClusterAgreement(counts: [[3, 5]]).nmi, 0)
        XCTAssertEqual(ClusterAgreement(counts: [[3, 5]]).accuracy, 5.0 / 8.0, accuracy: 1e-12)
        XCTAssertEqual(ClusterAgreement(counts: [[4], [0]]).nmi, 1)
    }

    func testAssignmentMatchesBruteForceOnRandomTables() {
        var random = SplitMix64(seed: 3)
        for trial in 0..<60 {
            let rows = 1 + Int(random.next(below: 5)), cols = 1 + Int(random.next(below: 5))
            let w = (0..<rows).map { _ in (0..<cols).map { _ in Double(random.next(below: 4)) } }
            let got = Assignment.maximize(w)
            XCTAssertEqual(Set(got.compactMap { $0 }).count, got.compactMap { $0 }.count, "one-to-one")
            XCTAssertEqual(got.compactMap { $0 }.count, min(rows, cols))
            var score = 0.0
            for (r, c) in got.enumerated() { if let c { score += w[r][c] } }
            XCTAssertEqual(score, Self.bestByPermutation(w), "trial \(trial): \(w)")
        }
    }

    /// Every injective matching of the smaller side: the reference for small tables.
    static func bestByPermutation(_ w: [[Double]]) -> Double {
        let rows = w.count, cols = w[0].count
        var best = 0.0
        func go(_ r: Int, _ used: Set<Int>, _ acc: Double) {
            if r == rows { best = max(best, acc); return }
            go(r + 1, used, acc)  // row r unmatched
            for c in 0..<cols where !used.contains(c) { go(r + 1, used.union([c]), acc + w[r][c]) }
        }
        go(0, [], 0)
        return best
    }
}
