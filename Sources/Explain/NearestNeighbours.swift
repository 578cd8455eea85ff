/// The k closest rows (Euclidean, in posterior-mean space) to a query among a reference set.
enum NearestNeighbours {
    static func search(query: ArraySlice<Float>, reference: [Float], latent d: Int, k: Int,
                       excluding excluded: Int? = nil) -> [(index: Int, distance: Double)] {
        guard k > 0, d > 0 else { return [] }
        let n = reference.count / d
        let q = Array(query)
        var best: [(index: Int, distance: Double)] = []
        for i in 0..<n where i != excluded {
            var s: Double = 0
            for j in 0..<d { let t = Double(reference[i * d + j]) - Double(q[j]); s += t * t }
            if !s.isFinite { continue }
            // Keep a small sorted list: k is a handful, n up to 10^5.
            if best.count < k || s < best[best.count - 1].distance {
                let pos = best.firstIndex { s < $0.distance } ?? best.count
                best.insert((i, s), at: pos)
                if best.count > k { best.removeLast() }
            }
        }
        return best.map { ($0.index, $0.distance.squareRoot()) }
    }
}
