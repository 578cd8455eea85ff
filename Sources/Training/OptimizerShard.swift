import MPI
import VAE

/// Under `--shard-optimizer` (ZeRO stage 1) each rank's Adam owns one contiguous slice of the
/// parameter arena: its moments exist only for that slice, and it alone updates those
/// parameters. Slices are cut in rank order, each a whole number of 64-byte lines (16 floats) so
/// every rank's Adam loop starts aligned; the last rank's is shorter, so the arena keeps its size
/// (the collectives take per-rank counts rather than a padded arena).
public struct OptimizerShard: Equatable, Sendable {
    public static let alignment = 16
    /// Parameters in the whole arena.
    public let total: Int
    public let rank: Int
    /// Per rank, in rank order: the slice's length and start, as MPI takes them.
    public let counts: [Int32]
    public let displacements: [Int32]

    public init(total: Int, ranks: Int, rank: Int) throws {
        guard total <= Int(Int32.max) else {
            throw ConfigError("--shard-optimizer: the model's \(total) parameters are more than one MPI count holds (\(Int32.max))")
        }
        precondition(ranks >= 1 && (0..<ranks).contains(rank), "OptimizerShard: rank \(rank) of \(ranks)")
        self.total = total
        self.rank = rank
        let a = Self.alignment
        let per = ((total + ranks - 1) / ranks + a - 1) / a * a
        var c: [Int32] = [], d: [Int32] = []
        for r in 0..<ranks {
            let lo = min(total, r * per), hi = min(total, lo + per)
            d.append(Int32(lo))
            c.append(Int32(hi - lo))
        }
        counts = c
        displacements = d
    }

    public var ranks: Int { counts.count }
    public var range: Range<Int> { Int(displacements[rank])..<(Int(displacements[rank]) + Int(counts[rank])) }
    /// The largest slice: what one rank's moments hold at most.
    public var largest: Int { Int(counts.max() ?? 0) }
}
