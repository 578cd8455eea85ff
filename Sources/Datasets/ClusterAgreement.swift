import Foundation

/// How well unsupervised clusters agree with the data's labels, from the cluster x label count
/// table: the two figures the clustering literature reports.
///
/// - **Accuracy** (unsupervised clustering accuracy, Hungarian rule): the best one-to-one matching
///   of clusters to labels, each cluster to at most one label and each label to at most one
///   cluster, found by the assignment algorithm (`Assignment.maximize`, Kuhn-Munkres), and the share
///   of samples whose cluster is matched to their label. With more clusters than labels the
///   unmatched clusters' samples count as wrong; with fewer, the unmatched labels' samples.
/// - **NMI** with the arithmetic-mean normalization (scikit-learn's default):
///   I(C; Y) / ((H(C) + H(Y)) / 2), natural logarithms (the ratio does not depend on the base).
///   When both labelings have a single class it is 1 (they agree), when one has it is 0.
public struct ClusterAgreement: Equatable, Sendable {
    /// `counts[c][y]`: samples in cluster c with label y.
    public let counts: [[Int]]
    public let accuracy: Double
    public let nmi: Double
    /// `matching[c]`: the label cluster c is matched to, nil when it is left unmatched.
    public let matching: [Int?]
    public var clusterSizes: [Int] { counts.map { $0.reduce(0, +) } }
    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }

    public init(counts: [[Int]]) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0.count == counts[0].count && $0.allSatisfy { $0 >= 0 } },
                     "ClusterAgreement: a non-empty rectangular table of counts >= 0")
        self.counts = counts
        let n = counts.reduce(0) { $0 + $1.reduce(0, +) }
        let match = Assignment.maximize(counts.map { $0.map(Double.init) })
        matching = match
        var hit = 0
        for (c, y) in match.enumerated() { if let y { hit += counts[c][y] } }
        accuracy = n > 0 ? Double(hit) / Double(n) : 0
        nmi = Self.normalizedMutualInformation(counts)
    }

    /// The table from per-sample cluster indices (0..<clusters) and labels (0..<labels).
    public init(clusters: [Int], labels: [Int], clusterCount: Int, labelCount: Int) {
        precondition(clusters.count == labels.count, "ClusterAgreement: \(clusters.count) clusters for \(labels.count) labels")
        var table = [[Int]](repeating: [Int](repeating: 0, count: max(1, labelCount)), count: max(1, clusterCount))
        for (c, y) in zip(clusters, labels) { table[c][y] += 1 }
        self.init(counts: table)
    }

    static func normalizedMutualInformation(_ counts: [[Int]]) -> Double {
        let n = Double(counts.reduce(0) { $0 + $1.reduce(0, +) })
        guard n > 0 else { return 0 }
        let rows = counts.map { Double($0.reduce(0, +)) }
        let cols = (0..<counts[0].count).map { y in Double(counts.reduce(0) { $0 + $1[y] }) }
        func entropy(_ m: [Double]) -> Double { m.reduce(0) { $1 > 0 ? $0 - $1 / n * Foundation.log($1 / n) : $0 } }
        let hc = entropy(rows), hy = entropy(cols)
        let usedRows = rows.filter { $0 > 0 }.count, usedCols = cols.filter { $0 > 0 }.count
        if usedRows <= 1 && usedCols <= 1 { return 1 }
        if usedRows <= 1 || usedCols <= 1 { return 0 }
        var mi = 0.0
        for (c, row) in counts.enumerated() {
            for (y, v) in row.enumerated() where v > 0 {
                let p = Double(v) / n
                mi += p * Foundation.log(Double(v) * n / (rows[c] * cols[y]))
            }
        }
        return max(0, mi) / ((hc + hy) / 2)
    }
}

/// The assignment problem: the one-to-one matching of rows to columns with the largest total
/// weight, by the Kuhn-Munkres (Hungarian) algorithm with potentials, O(n³) on the table padded
/// to a square of side max(rows, columns). Ties go to the matching the algorithm meets first,
/// which is fixed by the table alone.
public enum Assignment {
    /// `result[r]`: the column matched to row r, nil for rows left over when there are more rows
    /// than columns (a padded column).
    public static func maximize(_ weights: [[Double]]) -> [Int?] {
        let rows = weights.count, cols = weights.first?.count ?? 0
        guard rows > 0, cols > 0 else { return [Int?](repeating: nil, count: rows) }
        let n = max(rows, cols)
        let top = weights.flatMap { $0 }.max() ?? 0
        // Minimizing top − w; padded cells cost top − 0.
        func cost(_ i: Int, _ j: Int) -> Double { i < rows && j < cols ? top - weights[i][j] : top }
        // 1-based potentials u (rows), v (columns), p[j]: the row matched to column j.
        var u = [Double](repeating: 0, count: n + 1), v = u
        var p = [Int](repeating: 0, count: n + 1), way = p
        for i in 1...n {
            p[0] = i
            var j0 = 0
            var minv = [Double](repeating: .infinity, count: n + 1)
            var used = [Bool](repeating: false, count: n + 1)
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = Double.infinity, j1 = 0
                for j in 1...n where !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j]
                    if cur < minv[j] { minv[j] = cur; way[j] = j0 }
                    if minv[j] < delta { delta = minv[j]; j1 = j }
                }
                for j in 0...n {
                    if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
                }
                j0 = j1
            } while p[j0] != 0
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
        var result = [Int?](repeating: nil, count: rows)
        for j in 1...n where p[j] >= 1 && p[j] <= rows && j <= cols { result[p[j] - 1] = j - 1 }
        return result
    }
}
