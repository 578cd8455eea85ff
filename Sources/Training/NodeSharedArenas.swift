import Foundation
import Linalg
import MPI
import VAE

/// Every rank's parameter and gradient arenas, and a few floats of step statistics, placed in one
/// shared-memory window, so ranks on one host can sum each other's gradients and copy each other's
/// updated parameters in place instead of sending them. Each rank still owns a whole replica: its
/// model is built on its own segment and nothing else about the model changes.
final class NodeSharedArenas {
    let window: NodeSharedWindow
    let sizes: ArenaSizes
    /// Doubles of statistics a rank publishes each step: the loss tail and its slice's squared norm.
    let statisticsCount: Int
    private let gradientOffset: Int
    private let statisticsOffset: Int

    /// Nil when the ranks are not all on this host, or there is only one (nothing to share), or
    /// the memory file system behind the window has too little room; `note` then says why, where
    /// a user would want to know. Collective: every rank of `comm` calls it with the same sizes.
    static func make(comm: Communicator, sizes: ArenaSizes, statisticsCount: Int) throws -> (arenas: NodeSharedArenas?, note: String?) {
        guard comm.size > 1, try NodeSharedWindow.coversOneHost(comm) else { return (nil, nil) }
        let bytes = Self.bytesPerRank(sizes: sizes, statisticsCount: statisticsCount) * comm.size
        // Open MPI backs the window with a file there; pages past a full tmpfs would end the
        // ranks with SIGBUS when first touched, so too little room means the collectives instead.
        let directory = ProcessInfo.processInfo.environment["OMPI_MCA_osc_sm_backing_directory"] ?? "/dev/shm"
        let room = Self.freeBytes(directory) ?? 0
        let fits = try comm.allreduce(Int32(room >= bytes + bytes / 4 ? 1 : 0), op: .min) == 1
        guard fits else {
            return (nil, String(format: "%@ has %.0f MB free and the shared arenas need %.0f MB: summing with collectives instead",
                                directory, Double(room) / 1e6, Double(bytes) / 1e6))
        }
        return (try NodeSharedArenas(comm: comm, sizes: sizes, statisticsCount: statisticsCount), nil)
    }

    private static func lines(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }

    private static func bytesPerRank(sizes: ArenaSizes, statisticsCount: Int) -> Int {
        lines(sizes.parameters * 4) + lines(sizes.gradients * 4) + lines(statisticsCount * 8)
    }

    private static func freeBytes(_ path: String) -> Int? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    private init(comm: Communicator, sizes: ArenaSizes, statisticsCount: Int) throws {
        self.sizes = sizes
        self.statisticsCount = statisticsCount
        // Each part starts on a cache line, as FloatBuffer's own allocations do.
        gradientOffset = Self.lines(sizes.parameters * 4)
        statisticsOffset = gradientOffset + Self.lines(sizes.gradients * 4)
        window = try NodeSharedWindow(comm: comm, bytesPerRank: Self.bytesPerRank(sizes: sizes, statisticsCount: statisticsCount))
    }

    /// The model's arenas: this rank's segment.
    var storage: ArenaStorage {
        ArenaStorage(parameters: FloatBuffer(borrowing: parameters(of: window.comm.rank), count: sizes.parameters, owner: window),
                     gradients: FloatBuffer(borrowing: gradients(of: window.comm.rank), count: sizes.gradients, owner: window))
    }

    func parameters(of rank: Int) -> UnsafeMutablePointer<Float> {
        window.segment(of: rank).assumingMemoryBound(to: Float.self)
    }

    func gradients(of rank: Int) -> UnsafeMutablePointer<Float> {
        (window.segment(of: rank) + gradientOffset).assumingMemoryBound(to: Float.self)
    }

    func statistics(of rank: Int) -> UnsafeMutablePointer<Double> {
        (window.segment(of: rank) + statisticsOffset).assumingMemoryBound(to: Double.self)
    }
}
