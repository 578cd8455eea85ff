import Foundation

/// The report's section on the training run itself, from its metrics.jsonl: how the -ELBO, its
/// reconstruction and KL terms, the step throughput and the communication share went.
enum RunSection {
    static let heading = "Training run"

    static let blue = RGB(0x1f, 0x5f, 0xa8), green = RGB(0x2e, 0x8b, 0x57), orange = RGB(0xd3, 0x6b, 0x1c)

    /// Adds the section for the metrics file at `path`; a file that cannot be read becomes a
    /// sentence in the section, never a failed report.
    static func add(to r: inout HTMLReport, metricsPath path: String) {
        do {
            add(to: &r, metrics: try RunMetrics(path: path), path: path)
        } catch {
            r.section(heading)
            r.paragraph("No curves: \(error)")
        }
    }

    static func add(to r: inout HTMLReport, metrics m: RunMetrics, path: String) {
        r.section(heading)
        var facts: [(String, String)] = [("metrics", path), ("records", "\(m.records)"), ("epochs recorded", "\(m.epochs.count)")]
        if let last = m.epochs.last {
            if let v = last.trainNegELBO { facts.append(("last train -ELBO", "\(fmt(v)) nats (epoch \(last.epoch))")) }
            if let v = last.testNegELBO { facts.append(("last test -ELBO", "\(fmt(v)) nats (epoch \(last.epoch))")) }
            if let w = last.worldSize { facts.append(("ranks", "\(w)")) }
        }
        let speeds = m.epochs.compactMap(\.stepSamplesPerSecond)
        if let first = speeds.first, let last = speeds.last, first > 0 {
            facts.append(("step throughput", "\(fmt(first, 0)) samples/s in the first epoch, \(fmt(last, 0)) in the last (\(fmt(last / first, 2)) of the first)"))
        }
        r.facts(facts)
        if let problems = m.problems { r.paragraph("metrics.jsonl: \(problems).") }
        guard !m.epochs.isEmpty || !m.steps.isEmpty else {
            r.paragraph("No epoch or step has been recorded yet: the run has just started, or trains with a --log-every longer than its steps so far.")
            return
        }

        func series(_ name: String, _ key: KeyPath<RunMetrics.Epoch, Double?>, _ colour: RGB, dashed: Bool = false) -> SVGChart.Series {
            SVGChart.Series(name: name, points: m.epochs.compactMap { e in e[keyPath: key].map { (Double(e.epoch), $0) } },
                            colour: colour, dashed: dashed)
        }
        func present(_ s: [SVGChart.Series]) -> [SVGChart.Series] { s.filter { !$0.points.isEmpty } }
        let elbo = present([series("train -ELBO", \.trainNegELBO, blue), series("test -ELBO", \.testNegELBO, blue, dashed: true),
                            series("train recon", \.trainRecon, green), series("test recon", \.testRecon, green, dashed: true)])
        if !elbo.isEmpty {
            r.chart(SVGChart.lines(elbo, title: "-ELBO and its reconstruction term per epoch", xLabel: "epoch", yLabel: "nats per sample"),
                    caption: "Train figures are means over the epoch's steps (with the KL weight of each step's warm-up); test figures are evaluated after the epoch with β = 1.")
        }
        let kl = present([series("train KL", \.trainKL, orange), series("test KL", \.testKL, orange, dashed: true)])
        if !kl.isEmpty {
            r.chart(SVGChart.lines(kl, title: "KL(q(z|x) || p(z)) per epoch", xLabel: "epoch", yLabel: "nats per sample", yFromZero: true))
        }

        var throughput: [SVGChart.Series] = []
        let windows = m.steps.compactMap { s in s.stepSamplesPerSecond.map { (Double(s.step), $0) } }
        if !windows.isEmpty { throughput.append(.init(name: "each --log-every", points: windows, colour: RGB(0x9a, 0xa8, 0xb8))) }
        let perEpoch = m.epochs.compactMap { e -> (x: Double, y: Double)? in
            guard let v = e.stepSamplesPerSecond, let s = e.step else { return nil }
            return (Double(s), v)
        }
        if !perEpoch.isEmpty { throughput.append(.init(name: "epoch mean", points: perEpoch, colour: blue)) }
        if !throughput.isEmpty {
            r.chart(SVGChart.lines(throughput, title: "Step throughput", xLabel: "step", yLabel: "samples/s", yFromZero: true),
                    caption: "Training steps only: the global batch's rows over the time inside the steps (evaluation and checkpoints excluded). A curve that sinks while the model trains is the steps getting slower, not the epochs getting longer.")
        }
        let share = m.epochs.compactMap { e in e.allreduceShare.map { (Double(e.epoch), 100 * $0) } }
        if !share.isEmpty {
            r.chart(SVGChart.lines([.init(name: "allreduce", points: share, colour: orange)], title: "Communication share of the step time",
                                   xLabel: "epoch", yLabel: "% of step time", yFromZero: true),
                    caption: "Time in the step's allreduce (the wait for the slowest rank included) over the time in the steps.")
        }
        let rows = m.epochs.map { e -> [String] in
            [String(e.epoch), opt(e.trainNegELBO), opt(e.testNegELBO), opt(e.stepSamplesPerSecond, 0),
             opt(e.wallSeconds), opt(e.stepSeconds), opt(e.evaluationSeconds), opt(e.checkpointSeconds), opt(e.allreduceShare.map { 100 * $0 }, 1)]
        }
        if !rows.isEmpty {
            r.table(headers: ["epoch", "train -ELBO", "test -ELBO", "step samples/s", "epoch wall s", "steps s", "evaluation s",
                              "checkpoint s", "allreduce %"], rows: rows)
        }
    }

    static func fmt(_ v: Double, _ decimals: Int = 2) -> String { NumberFormat.fixed(v, decimals) }
    static func opt(_ v: Double?, _ decimals: Int = 2) -> String { v.map { fmt($0, decimals) } ?? "" }
}
