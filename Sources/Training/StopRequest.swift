import Foundation

// Written by a signal handler, so it must be a plain global the handler can reach.
private var stopSignalled: sig_atomic_t = 0
// Read by a signal handler: whether this rank prints the line when a signal ends the process.
private var announcesEnd: sig_atomic_t = 0

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

    /// Once no step is left to stop after, the signals stop waiting for the end of the process
    /// (which may be a long explanation export): they end it at once, with one line, and by the
    /// signal itself so the launcher sees how it ended. Everything worth keeping is saved by then.
    /// Only `announcing` ranks print: the launcher passes the signal on to the others.
    func endOnSignal(announcing: Bool) {
        announcesEnd = announcing ? 1 : 0
        for s in [SIGTERM, SIGUSR1] {
            signal(s) { s in
                let line: StaticString = "error: stopped by a signal after training; its checkpoints are saved, anything after them (the explanation export) is unfinished\n"
                if announcesEnd != 0 { _ = write(2, line.utf8Start, line.utf8CodeUnitCount) }
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }
}

/// For the command: SIGTERM and SIGUSR1 ask for a stop from the moment the process starts, before
/// the trainer exists; the trainer's step loop then honours them like any other.
public enum StopSignals {
    public static func install() { _ = StopRequest.install() }
}
