import Basics
import Foundation

/// Rank 0's running view of an epoch: a bar redrawn in place when stderr is a terminal, plain
/// lines every `logEvery` steps otherwise (logs of batch jobs stay readable).
final class ProgressReporter {
    let enabled: Bool
    let logEvery: Int
    let stepsPerEpoch: Int
    let out: (String) -> Void
    let interactive: Bool
    private var epoch = 0
    private var negELBOSum = 0.0, rows = 0
    private var lastDraw = 0.0

    init(enabled: Bool, logEvery: Int, stepsPerEpoch: Int, out: @escaping (String) -> Void) {
        self.enabled = enabled
        self.logEvery = logEvery
        self.stepsPerEpoch = stepsPerEpoch
        self.out = out
        interactive = enabled && isatty(STDERR_FILENO) != 0
    }

    func beginEpoch(_ epoch: Int) {
        self.epoch = epoch
        negELBOSum = 0; rows = 0
    }

    /// `negELBOSum`: the step's loss terms summed over its rows.
    func step(_ step: Int, negELBOSum: Double, rows: Int) {
        guard enabled else { return }
        if negELBOSum.isFinite {
            self.negELBOSum += negELBOSum; self.rows += rows
        }
        let loss = self.rows > 0 ? self.negELBOSum / Double(self.rows) : .nan
        let done = step + 1
        if interactive {
            let now = Clock.now()
            guard now - lastDraw > 0.2 || done == stepsPerEpoch else { return }
            lastDraw = now
            let width = 30
            let filled = width * done / max(stepsPerEpoch, 1)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            try? FileHandle.standardError.write(contentsOf: Data(("\repoch \(epoch + 1) [\(bar)] \(done)/\(stepsPerEpoch)  "
                + String(format: "-ELBO %.2f ", loss)).utf8))
        } else if done % logEvery == 0 {
            out(String(format: "  epoch %ld step %ld/%ld  -ELBO %.2f", epoch + 1, done, stepsPerEpoch, loss))
        }
    }

    func endEpoch() {
        if interactive { try? FileHandle.standardError.write(contentsOf: Data("\r\u{1B}[K".utf8)) }
    }
}
