import Foundation
import VAE

/// What one epoch cost and gave, as its line on stdout and its `metrics.jsonl` record.
///
/// Two speeds, never mixed: the step throughput counts training steps only (rows over the time
/// inside the steps), so a slowdown of the steps shows as it happens; the epoch's wall time runs
/// from its first step to the end of its checkpoint, evaluation and saving included, so the cost of
/// what surrounds the steps shows too.
struct EpochReport {
    var epoch: Int            // 1-based
    var epochs: Int
    var globalStep: Int
    var rows: Int
    /// The epoch's loss terms summed over its rows, and their names.
    var terms: LossTerms
    var termNames: [String]
    var stepSeconds: Double
    var reduceSeconds: Double
    var evaluationSeconds: Double
    var checkpointSeconds: Double
    var wallSeconds: Double
    var test: EvaluationResult?
    var worldSize: Int

    var trainNegELBO: Double { rows > 0 ? terms.total / Double(rows) : .nan }
    var stepSamplesPerSecond: Double { Double(rows) / max(stepSeconds, 1e-9) }
    var allreduceShare: Double { reduceSeconds / max(stepSeconds, 1e-9) }

    var line: String {
        var s = String(format: "epoch %ld/%ld  train -ELBO %.2f", epoch, epochs, trainNegELBO)
        if let test {
            s += String(format: "  test -ELBO %.2f (", test.negELBO)
                + zip(test.termNames, 0..<test.terms.count).map { name, i in
                    "\(EvaluationResult.displayName(name)) " + String(format: "%.2f", test.terms[i])
                }.joined(separator: ", ") + ")"
        }
        s += String(format: "  steps %.0f samples/s  allreduce %.1f%% of step time", stepSamplesPerSecond, 100 * allreduceShare)
        s += String(format: "  epoch %.2f s (steps %.2f, evaluation %.2f, checkpoint %.2f)",
                    wallSeconds, stepSeconds, evaluationSeconds, checkpointSeconds)
        return s
    }

    /// Non-finite figures (an epoch of skipped steps has no mean) are null: JSON has no NaN.
    var record: [String: Any] {
        func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        var r: [String: Any] = [
            "kind": "epoch", "epoch": epoch, "step": globalStep, "world_size": worldSize,
            "train_neg_elbo": number(trainNegELBO),
            "step_samples_per_second": stepSamplesPerSecond, "allreduce_share": allreduceShare,
            "step_seconds": stepSeconds, "evaluation_seconds": evaluationSeconds, "checkpoint_seconds": checkpointSeconds,
            "epoch_wall_seconds": wallSeconds, "train_rows": rows,
        ]
        for (i, name) in termNames.enumerated() { r["train_" + name] = number(terms[i] / Double(max(rows, 1))) }
        if let test {
            r["test_neg_elbo"] = number(test.negELBO)
            for (i, name) in test.termNames.enumerated() { r["test_" + name] = number(test.terms[i]) }
        }
        return r
    }
}

/// Step throughput between two "step" records (every --log-every steps): rows and seconds inside
/// the steps since the last record.
struct StepWindow {
    private(set) var rows = 0
    private(set) var seconds = 0.0

    mutating func add(rows: Int, seconds: Double) { self.rows += rows; self.seconds += seconds }

    /// The window's samples/s, and a fresh window.
    mutating func take() -> Double? {
        defer { rows = 0; seconds = 0 }
        return seconds > 0 && rows > 0 ? Double(rows) / seconds : nil
    }
}
