import Foundation
import VAE

/// A network the prediction assumes: a rate and a per-message latency.
public struct LinkSpec: Equatable, Sendable {
    public var gigabitsPerSecond: Double
    public var microseconds: Double

    public init(gigabitsPerSecond: Double, microseconds: Double) {
        self.gigabitsPerSecond = gigabitsPerSecond
        self.microseconds = microseconds
    }

    /// "10:25,100:5": Gbit/s and microseconds, comma-separated.
    public static func parseList(_ text: String, flag: String) throws -> [LinkSpec] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let links = parts.compactMap { part -> LinkSpec? in
            let f = part.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count == 2, let rate = Double(f[0]), let latency = Double(f[1]), rate.isFinite, rate > 0,
                  latency.isFinite, latency >= 0 else { return nil }
            return LinkSpec(gigabitsPerSecond: rate, microseconds: latency)
        }
        guard !parts.isEmpty, links.count == parts.count else {
            throw ConfigError("--\(flag) expects comma-separated RATE:LATENCY pairs in Gbit/s and microseconds such as 10:25,100:5, got \(text)")
        }
        return links
    }
}

/// The lines `bench --predict` prints: the fits, the measured steps against the model, and the
/// predicted scaling for large jobs.
public enum ScalingReport {
    public static let rankCounts = [8, 16, 32, 64, 128, 256, 512]

    public static func lines(_ m: ScalingMeasurement, links: [LinkSpec], globalBatch: Int, batchPerRank: Int) -> [String] {
        let model = ScalingModel(costs: m.costs)
        let c = m.costs
        var out: [String] = []
        out.append("scaling model of the benchmark model (\(c.parameterCount) parameters, \(String(format: "%.1f", Double(4 * c.parameterCount) / 1_048_576)) MiB of fp32 gradients), measured on \(m.worldSize) rank\(m.worldSize == 1 ? "" : "s")")
        out.append("  forward + backward per rank (all ranks at once): "
            + zip(c.batches, c.computeSeconds).map { String(format: "%d rows %.2f ms", $0, $1 * 1000) }.joined(separator: ", "))
        out.append(String(format: "  Adam over the arena %.3f ms; bf16 rounding there and back %.2f ns an element; adding arrays %.3f ns a byte",
                          c.adamSeconds * 1000, c.conversionSeconds * 1e9, c.addSecondsPerByte * 1e9))
        if m.worldSize > 1 {
            out.append(String(format: "  waiting for the slowest rank (a barrier after each step, against none): %.2f ms a step",
                              c.synchronizationSeconds * 1000))
        }
        for coll in Collective.allCases {
            guard let fit = m.fits[coll.rawValue] else { continue }
            let points = m.timings.filter { $0.collective == coll }
            let worst = points.map { abs(coll.seconds(bytes: $0.bytes, ranks: $0.ranks, link: fit) / $0.seconds - 1) }.max() ?? 0
            out.append(String(format: "  %@ fit (ring): alpha %.1f us, beta %.3f ns/B (%.2f GB/s); the %d timed sizes within %.0f%% of it",
                              coll.rawValue, fit.alpha * 1e6, fit.beta * 1e9, 1 / max(fit.beta, 1e-15) / 1e9, points.count, worst * 100))
        }
        if !m.steps.isEmpty {
            out.append("measured step vs the model's prediction from these fits, \(m.worldSize) rank\(m.worldSize == 1 ? "" : "s"), \(m.steps[0].batchPerRank) rows a rank:")
            for s in m.steps {
                let p = model.predict(s.option, ranks: s.ranks, batchPerRank: Double(s.batchPerRank), links: m.links)
                out.append(String(format: "  %-16@ measured %.2f ms (communication %.2f ms, %.0f%%), predicted %.2f ms (%.2f ms): %+.0f%%",
                                  s.option.name, s.stepSeconds * 1000, s.communicationSeconds * 1000,
                                  100 * s.communicationSeconds / max(s.stepSeconds, 1e-12), p.stepSeconds * 1000,
                                  p.communicationSeconds * 1000, 100 * (p.stepSeconds / max(s.stepSeconds, 1e-12) - 1)))
            }
        }
        let options = m.steps.map(\.option).isEmpty ? [ExchangeOption.fused, .bf16, .sharded] : m.steps.map(\.option)
        for link in links {
            let net = model.network(gigabitsPerSecond: link.gigabitsPerSecond, microseconds: link.microseconds)
            for regime in ["per-rank", "global"] {
                let title = regime == "per-rank" ? "\(batchPerRank) rows a rank (weak scaling)" : "global batch \(globalBatch) (strong scaling)"
                out.append(String(format: "predicted at %g Gbit/s, %g us a message, one rank a host, %@: efficiency (step ms)",
                                  link.gigabitsPerSecond, link.microseconds, title))
                out.append("  ranks " + options.map { $0.name.padding(toLength: 18, withPad: " ", startingAt: 0) }.joined())
                for p in rankCounts {
                    let b = regime == "per-rank" ? Double(batchPerRank) : Double(globalBatch) / Double(p)
                    let cells = options.map { option -> String in
                        guard b >= 1 else { return "(under 1 row)".padding(toLength: 18, withPad: " ", startingAt: 0) }
                        let step = model.predict(option, ranks: p, batchPerRank: b, links: net).stepSeconds
                        let eff = regime == "per-rank" ? model.efficiency(option, ranks: p, batchPerRank: b, links: net)
                            : model.efficiency(option, ranks: p, globalBatch: Double(globalBatch), links: net)
                        return String(format: "%.2f (%.2f)", eff, step * 1000).padding(toLength: 18, withPad: " ", startingAt: 0)
                    }
                    out.append(String(format: "  %5d ", p) + cells.joined())
                }
            }
        }
        return out
    }
}
