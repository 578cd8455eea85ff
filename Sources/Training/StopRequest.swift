import Foundation

// Written by a signal handler, so it must be a plain global the handler can reach.
private var stopSignalled: sig_atomic_t = 0

/// SIGTERM (what Slurm and `kill` send before a hard stop) and SIGUSR1 (`sbatch --signal`) ask
/// the job to save its state and stop after the current step. The flag travels in the step's
/// allreduce, so all ranks stop at the same step even if only one was signalled.
struct StopRequest {
    static func install() -> StopRequest {
        signal(SIGTERM) { _ in stopSignalled = 1 }
        signal(SIGUSR1) { _ in stopSignalled = 1 }
        return StopRequest()
    }

    var requested: Bool { stopSignalled != 0 }
}
