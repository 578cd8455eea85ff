import Foundation

/// A latency-bandwidth (alpha-beta) model of one collective on one transport: a message of n
/// bytes among p ranks costs `latency(p) x alpha + volume(p) x n x beta`, plus `gamma` seconds
/// a byte for the local arithmetic of a reduction (which a fit to measured times already holds,
/// and a link described only by its rate and latency does not).
public struct LinkCost: Codable, Equatable, Sendable {
    public var alpha: Double
    public var beta: Double
    public var gamma: Double = 0

    public init(alpha: Double, beta: Double, gamma: Double = 0) {
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
    }

    /// A network link of `gigabitsPerSecond` with `microseconds` of latency a message.
    public static func link(gigabitsPerSecond: Double, microseconds: Double, gamma: Double) -> LinkCost {
        LinkCost(alpha: microseconds * 1e-6, beta: 8 / (gigabitsPerSecond * 1e9), gamma: gamma)
    }
}

public enum Collective: String, Codable, CaseIterable, Sendable {
    case allreduce, reduceScatter, allgather

    /// Whether the collective adds what it receives (and so pays `gamma`).
    var reduces: Bool { self != .allgather }

    /// The ring algorithm's message count and the share of the n bytes each rank sends:
    /// allreduce 2(p-1) and 2(p-1)/p, reduce-scatter and all-gather half of that.
    public func ring(ranks p: Int) -> (latency: Double, volume: Double) {
        let q = Double(max(p, 1))
        let steps = q - 1, share = (q - 1) / q
        return self == .allreduce ? (2 * steps, 2 * share) : (steps, share)
    }

    /// Recursive halving / doubling (Rabenseifner's allreduce): the same volume in ceil(log2 p)
    /// messages a phase, which MPI libraries pick at large p where the ring's latency would rule.
    public func halvingDoubling(ranks p: Int) -> (latency: Double, volume: Double) {
        let phases = p > 1 ? Double(Int.bitWidth - (p - 1).leadingZeroBitCount) : 0
        let ring = self.ring(ranks: p)
        return (self == .allreduce ? 2 * phases : phases, ring.volume)
    }

    /// Seconds for `bytes` among `ranks` on `link`: the better of ring and halving-doubling.
    public func seconds(bytes: Double, ranks: Int, link: LinkCost) -> Double {
        guard ranks > 1 else { return 0 }
        // Whatever the algorithm, each rank adds (p-1)/p of the bytes once in a reduction.
        let added = reduces ? Double(ranks - 1) / Double(ranks) * bytes * link.gamma : 0
        func cost(_ t: (latency: Double, volume: Double)) -> Double { t.latency * link.alpha + t.volume * bytes * link.beta + added }
        return min(cost(ring(ranks: ranks)), cost(halvingDoubling(ranks: ranks)))
    }
}

/// One timed collective.
public struct CollectiveTiming: Codable, Equatable, Sendable {
    public var collective: Collective
    public var ranks: Int
    public var bytes: Double
    public var seconds: Double

    public init(collective: Collective, ranks: Int, bytes: Double, seconds: Double) {
        self.collective = collective
        self.ranks = ranks
        self.bytes = bytes
        self.seconds = seconds
    }
}

public enum AlphaBetaFit {
    /// alpha and beta of the ring formula fitted to timings of one collective (any rank counts
    /// above 1), by least squares on relative error so the small messages, which alone fix
    /// alpha, weigh as much as the large ones. Negative estimates (noise) are clamped to 0.
    public static func fit(_ timings: [CollectiveTiming]) -> LinkCost? {
        var saa = 0.0, sab = 0.0, sbb = 0.0, sat = 0.0, sbt = 0.0
        for t in timings where t.ranks > 1 && t.seconds > 0 {
            let terms = t.collective.ring(ranks: t.ranks)
            let w = 1 / (t.seconds * t.seconds)
            let a = terms.latency, b = terms.volume * t.bytes
            saa += w * a * a; sab += w * a * b; sbb += w * b * b
            sat += w * a * t.seconds; sbt += w * b * t.seconds
        }
        let det = saa * sbb - sab * sab
        guard det > 0, det.isFinite else { return nil }
        var alpha = (sat * sbb - sbt * sab) / det
        var beta = (saa * sbt - sab * sat) / det
        if alpha < 0 { alpha = 0; beta = sbt / sbb }
        if beta < 0 { beta = 0; alpha = sat / saa }
        return LinkCost(alpha: alpha, beta: beta)
    }
}

/// What one step costs on this machine apart from communication: the forward and backward pass
/// at each measured per-rank batch (with every rank computing at once, as in a job), Adam over
/// the whole arena, and the local per-element work of 16-bit gradients.
public struct StepCosts: Codable, Equatable, Sendable {
    public var parameterCount: Int
    /// Measured per-rank batches (ascending) and their forward + backward seconds.
    public var batches: [Int]
    public var computeSeconds: [Double]
    public var adamSeconds: Double
    /// What a step loses when every rank must wait for the slowest before the exchange: a
    /// barrier after each rank's step, measured against the same steps unsynchronized. Jitter
    /// and, with more ranks than cores, the scheduler's time slices; taken as constant in P.
    public var synchronizationSeconds: Double
    /// Rounding to 16 bits and back, seconds an element (bf16).
    public var conversionSeconds: Double
    /// Adding two float arrays, seconds a byte of one: the reduction's arithmetic on a link.
    public var addSecondsPerByte: Double

    public init(parameterCount: Int, batches: [Int], computeSeconds: [Double], adamSeconds: Double, synchronizationSeconds: Double,
                conversionSeconds: Double, addSecondsPerByte: Double) {
        self.parameterCount = parameterCount
        self.batches = batches
        self.computeSeconds = computeSeconds
        self.adamSeconds = adamSeconds
        self.synchronizationSeconds = synchronizationSeconds
        self.conversionSeconds = conversionSeconds
        self.addSecondsPerByte = addSecondsPerByte
    }

    /// Forward + backward at `batch` rows: piecewise linear between measured batches, and
    /// beyond them along the nearest segment (never below zero).
    public func compute(batch: Double) -> Double {
        guard let first = batches.first else { return 0 }
        if batches.count == 1 { return computeSeconds[0] * batch / Double(first) }
        var k = 0
        while k + 2 < batches.count, batch > Double(batches[k + 1]) { k += 1 }
        let x0 = Double(batches[k]), x1 = Double(batches[k + 1])
        let y0 = computeSeconds[k], y1 = computeSeconds[k + 1]
        return max(0, y0 + (y1 - y0) * (batch - x0) / (x1 - x0))
    }
}

/// How gradients travel: what `train` offers.
public enum ExchangeOption: Codable, Equatable, Hashable, Sendable {
    case fused
    case buckets(megabytes: Double)
    case bf16
    case sharded

    public var name: String {
        switch self {
        case .fused: return "fused"
        case .buckets(let mb): return "buckets \(mb.formatted()) MiB"
        case .bf16: return "bf16"
        case .sharded: return "sharded"
        }
    }

    public var flags: String {
        switch self {
        case .fused: return ""
        case .buckets(let mb): return "--grad-bucket-mb \(mb.formatted())"
        case .bf16: return "--grad-compression bf16"
        case .sharded: return "--shard-optimizer"
        }
    }
}

private extension Double {
    func formatted() -> String { self == rounded() ? String(Int(self)) : String(self) }
}

/// Predicted seconds of one step, and of it the communication not hidden behind computation.
public struct StepPrediction: Equatable, Sendable {
    public var stepSeconds: Double
    public var communicationSeconds: Double
    public var communicationShare: Double { communicationSeconds / max(stepSeconds, 1e-12) }
}

/// Step time = compute at the per-rank batch + the exposed communication + Adam (1/p of it when
/// sharded), with each collective from its alpha-beta cost.
public struct ScalingModel: Sendable {
    public var costs: StepCosts
    /// The loss sums and row count: what the fused exchange appends, and sharding's small allreduce.
    public var tailBytes: Double = 64

    public init(costs: StepCosts) { self.costs = costs }

    public func predict(_ option: ExchangeOption, ranks p: Int, batchPerRank b: Double,
                        links: [Collective: LinkCost]) -> StepPrediction {
        let n = Double(costs.parameterCount)
        let compute = costs.compute(batch: b)
        func t(_ c: Collective, _ bytes: Double) -> Double { links[c].map { c.seconds(bytes: bytes, ranks: p, link: $0) } ?? 0 }
        var communication: Double
        var adam = costs.adamSeconds
        switch option {
        case .fused:
            communication = t(.allreduce, 4 * n + tailBytes)
        case .buckets(let mb):
            // No overlap: Open MPI has no progress thread, so a started bucket moves only inside
            // MPI calls, and the backward pass makes one between layers; measured, buckets expose
            // as much as the fused allreduce on shared memory and on TCP (Cluster/README.md).
            // What remains is the buckets' extra latency.
            let bucket = min(4 * n, max(4, mb * 1_048_576))
            let k = (4 * n / bucket).rounded(.up)
            communication = (k - 1) * t(.allreduce, bucket) + t(.allreduce, 4 * n - (k - 1) * bucket) + t(.allreduce, tailBytes)
        case .bf16:
            // The exchange rounds and restores every element even on one rank.
            communication = t(.allreduce, 2 * n) + t(.allreduce, tailBytes) + costs.conversionSeconds * n
        case .sharded:
            communication = t(.reduceScatter, 4 * n) + t(.allreduce, tailBytes) + t(.allgather, 4 * n)
            // On one rank the two collectives are copies of the arena, which no fit covers.
            if p == 1 { communication += 2 * 4 * n * costs.addSecondsPerByte }
            adam /= Double(max(p, 1))
        }
        // Waiting for the slowest rank shows inside the first collective, so it counts there.
        if p > 1 { communication += costs.synchronizationSeconds }
        return StepPrediction(stepSeconds: compute + communication + adam, communicationSeconds: communication)
    }

    /// Throughput at `p` ranks over p times one rank's (compute + Adam, nothing sent) at the same
    /// per-rank batch: weak scaling.
    public func efficiency(_ option: ExchangeOption, ranks p: Int, batchPerRank b: Double, links: [Collective: LinkCost]) -> Double {
        let one = costs.compute(batch: b) + costs.adamSeconds
        return one / predict(option, ranks: p, batchPerRank: b, links: links).stepSeconds
    }

    /// The same for a global batch that stays `globalBatch` as ranks are added: strong scaling,
    /// against one rank doing the whole batch.
    public func efficiency(_ option: ExchangeOption, ranks p: Int, globalBatch g: Double, links: [Collective: LinkCost]) -> Double {
        let one = costs.compute(batch: g) + costs.adamSeconds
        return one / (Double(p) * predict(option, ranks: p, batchPerRank: g / Double(p), links: links).stepSeconds)
    }

    /// One link for every collective, with this machine's reduction arithmetic added.
    public func network(gigabitsPerSecond: Double, microseconds: Double) -> [Collective: LinkCost] {
        let link = LinkCost.link(gigabitsPerSecond: gigabitsPerSecond, microseconds: microseconds, gamma: costs.addSecondsPerByte)
        return Dictionary(uniqueKeysWithValues: Collective.allCases.map { ($0, link) })
    }
}
