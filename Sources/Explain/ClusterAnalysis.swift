/// What a mixture model's responsibilities q(y|x) say about the evaluation set: each sample's
/// cluster (the most responsible component), the clusters' sizes, their members from the most to
/// the least typical, and, with labels, the cluster x label table.
struct ClusterAnalysis {
    let clusters: Int
    let count: Int
    /// argmax_k q(y=k|x) per sample, the lowest k among ties; -1 for a row that is not finite
    /// (a NaN responsibility belongs to no cluster rather than silently to cluster 0).
    let assignment: [Int]
    /// q(y = assignment | x) per sample (NaN when unassigned).
    let responsibility: [Float]
    /// Members of each cluster by decreasing responsibility for it, ties by index: the first is
    /// the most typical member, the last the least typical.
    let members: [[Int]]
    /// Σ_x q(y=k|x): the expected size, which differs from the hard size when the model hedges.
    let softSizes: [Double]
    /// The labels present, ascending; the columns of `labelTable`.
    let labelValues: [Int]
    /// `labelTable[k][j]`: members of cluster k whose label is `labelValues[j]`; empty without labels.
    let labelTable: [[Int]]

    var sizes: [Int] { members.map(\.count) }
    var unassigned: Int { assignment.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }
    var emptyClusters: [Int] { (0..<clusters).filter { members[$0].isEmpty } }

    /// `responsibilities` is `count x clusters`, row-major; `labels`, when given, has `count` entries.
    init(responsibilities r: [Float], clusters K: Int, labels: [Int32]?) {
        precondition(K > 0 && r.count % K == 0, "ClusterAnalysis: \(r.count) responsibilities for \(K) clusters")
        clusters = K
        count = r.count / K
        var assignment = [Int](repeating: -1, count: count)
        var responsibility = [Float](repeating: .nan, count: count)
        var soft = [Double](repeating: 0, count: K)
        for i in 0..<count {
            let o = i * K
            guard r[o..<(o + K)].allSatisfy(\.isFinite) else { continue }
            var best = 0
            for k in 1..<K where r[o + k] > r[o + best] { best = k }
            assignment[i] = best
            responsibility[i] = r[o + best]
            for k in 0..<K { soft[k] += Double(r[o + k]) }
        }
        var members = [[Int]](repeating: [], count: K)
        for i in 0..<count where assignment[i] >= 0 { members[assignment[i]].append(i) }
        for k in 0..<K {
            members[k].sort { (responsibility[$0], -$0) > (responsibility[$1], -$1) }
        }
        self.assignment = assignment
        self.responsibility = responsibility
        self.members = members
        softSizes = soft
        if let labels, labels.count == count {
            let values = Array(Set(labels.map(Int.init))).sorted()
            let column = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
            var table = [[Int]](repeating: [Int](repeating: 0, count: values.count), count: K)
            for i in 0..<count where assignment[i] >= 0 { table[assignment[i]][column[Int(labels[i])]!] += 1 }
            labelValues = values
            labelTable = table
        } else {
            labelValues = []
            labelTable = []
        }
    }

    /// Up to `n` members of cluster `k`, most typical first.
    func mostTypical(_ k: Int, _ n: Int) -> [Int] { Array(members[k].prefix(n)) }
    /// Up to `n` members of cluster `k`, least typical first.
    func leastTypical(_ k: Int, _ n: Int) -> [Int] { Array(members[k].suffix(n).reversed()) }

    /// The label most of cluster `k`'s members carry (the smallest among ties) and its share of
    /// the cluster; nil for an empty cluster or without labels.
    func majority(_ k: Int) -> (label: Int, share: Double)? {
        guard !labelTable.isEmpty, !members[k].isEmpty else { return nil }
        var best = 0
        for j in labelValues.indices where labelTable[k][j] > labelTable[k][best] { best = j }
        return (labelValues[best], Double(labelTable[k][best]) / Double(members[k].count))
    }
}
