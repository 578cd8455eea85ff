import Linalg
import VAE

/// Whether a run's end is a good one: its parameters finite, and its last steps not a streak of
/// skipped non-finite ones. A streak that stays one short of `--max-nonfinite-steps` used to end
/// with exit 0, no checkpoint since the blow-up, and an explanation export full of NaN.
enum RunEnding {
    static func finite(_ model: VAEModel) -> Bool {
        Reductions.allFinite(model.parameters.baseAddress!, count: model.parameterCount)
    }

    /// The one-line error for a run that ended badly, or nil. Every rank holds the same
    /// parameters and counts, so every rank reaches the same verdict.
    static func failure(model: VAEModel, nonFiniteRun: Int, steps: Int, lastGoodStep: Int, stoppedBySignal: Bool,
                        lastSaved: String?, resumed: Bool) -> AgreedError? {
        let finiteParameters = finite(model)
        guard !finiteParameters || (nonFiniteRun > 0 && !stoppedBySignal) else { return nil }
        let what = finiteParameters
            ? "its last \(nonFiniteRun) step\(nonFiniteRun == 1 ? " was" : "s were") non-finite and skipped (steps \(steps - nonFiniteRun + 1)-\(steps))"
            : "its parameters are not finite (NaN or infinity) since about step \(lastGoodStep + 1)"
        let kept = lastSaved.map { "the last good checkpoint, \($0), is kept" }
            ?? (resumed ? "the checkpoint it resumed from is kept" : "no checkpoint was written")
        return AgreedError("training ended badly: \(what); \(kept), and no explanation export was written (try a lower --lr or --clip-norm)")
    }
}
