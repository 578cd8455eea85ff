import VAE

/// Rank 0's view of the steps as they go: the progress bar or lines, and every `every` steps a
/// `step` record in metrics.jsonl with the global batch's mean loss terms and the step throughput
/// since the last record.
struct StepLog {
    let every: Int
    let termNames: [String]
    let progress: ProgressReporter
    let metrics: MetricsLog
    let isRoot: Bool
    private var window = StepWindow()

    init(every: Int, termNames: [String], progress: ProgressReporter, metrics: MetricsLog, isRoot: Bool) {
        self.every = every
        self.termNames = termNames
        self.progress = progress
        self.metrics = metrics
        self.isRoot = isRoot
    }

    mutating func beginEpoch(_ epoch: Int) {
        window = StepWindow()
        progress.beginEpoch(epoch)
    }

    func endEpoch() { progress.endEpoch() }

    mutating func step(_ result: StepResult, seconds: Double, globalStep: Int, epoch: Int, stepInEpoch: Int, klWeight: Float) {
        window.add(rows: result.rows, seconds: seconds)
        progress.step(stepInEpoch, negELBOSum: result.terms.total, rows: result.rows)
        guard isRoot, globalStep % every == 0 else { return }
        // The global batch's rows over rank 0's time inside the steps since the last record.
        let throughput = window.take()
        guard result.finite, result.rows > 0 else { return }
        let rows = Double(result.rows)
        var record: [String: Any] = ["kind": "step", "step": globalStep, "epoch": epoch + 1,
                                     "neg_elbo": result.terms.total / rows, "kl_weight": Double(klWeight)]
        for (i, name) in termNames.enumerated() { record[name] = result.terms[i] / rows }
        if let throughput { record["step_samples_per_second"] = throughput }
        metrics.write(record)
    }
}
