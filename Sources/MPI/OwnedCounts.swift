/// Counts and displacements of a non-blocking v-collective. MPI reads these arrays until the
/// request completes (MPI 3.1, 5.12), longer than any Swift array's `withUnsafeBufferPointer`
/// guarantees its storage, so they live in memory of their own, owned by the request.
final class OwnedCounts {
    let counts: UnsafeMutablePointer<Int32>
    let displacements: UnsafeMutablePointer<Int32>
    let ranks: Int

    init(counts: [Int32], displacements: [Int32]) {
        ranks = counts.count
        self.counts = .allocate(capacity: max(1, ranks))
        self.displacements = .allocate(capacity: max(1, ranks))
        for i in 0..<ranks {
            self.counts[i] = counts[i]
            self.displacements[i] = displacements[i]
        }
    }

    deinit {
        counts.deallocate()
        displacements.deallocate()
    }
}
