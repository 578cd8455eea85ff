/// What a run does about a step whose loss or gradient is not finite: the step's update was not
/// applied (every rank saw the same reduced values, so every rank skipped it alike), the run warns
/// and goes on, and after `limit` such steps in a row it stops, naming what it keeps.
struct NonFinitePolicy {
    let limit: Int
    /// Non-finite steps in a row, up to the last one recorded.
    private(set) var run = 0
    private(set) var lastGoodStep: Int
    /// No non-finite step since the last finite one: the state may replace a checkpoint.
    var healthy: Bool { run == 0 }

    init(limit: Int, lastGoodStep: Int) {
        self.limit = limit
        self.lastGoodStep = lastGoodStep
    }

    /// `kept` says which checkpoint survives when the run stops here.
    mutating func record(finite: Bool, step: Int, epoch: Int, stepInEpoch: Int, kept: () -> String,
                         out: (String) -> Void) throws {
        if finite {
            run = 0
            lastGoodStep = step
            return
        }
        run += 1
        out("warning: step \(step) (epoch \(epoch + 1), step \(stepInEpoch + 1)) had a non-finite loss or gradient; skipped (\(run) in a row)")
        if run >= limit {
            throw AgreedError("stopped after \(run) non-finite steps in a row at step \(step); \(kept()) (try a lower --lr or --clip-norm)")
        }
    }
}
