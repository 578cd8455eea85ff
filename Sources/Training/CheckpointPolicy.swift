/// When a run saves its state: at the end of every epoch, every `every` steps inside an epoch
/// (0: never inside one), and when it stops early (a signal, --max-steps). Never while steps are
/// non-finite: that state is suspect and must not replace a good checkpoint.
struct CheckpointPolicy {
    let every: Int

    func savesInsideEpoch(afterStep globalStep: Int, endsEpoch: Bool, healthy: Bool) -> Bool {
        every > 0 && globalStep % every == 0 && !endsEpoch && healthy
    }

    func savesAtEpochEnd(healthy: Bool) -> Bool { healthy }
}
