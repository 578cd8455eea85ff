import Datasets
import Foundation
import Training
import VAE

/// What the trained-state benchmark steps on: Fashion-MNIST's training split, or the checkpoint
/// run's own data; synthetic images, said so, where Fashion-MNIST is not installed.
struct TrainedStateInput {
    let data: Dataset
    let note: String?
    let start: TrainedStateBenchmark.Start?

    static func load(checkpoint: String?) throws -> TrainedStateInput {
        let start = try checkpoint.map(TrainedStateBenchmark.loadStart)
        if let start, start.config.data != "fashion-mnist" {
            return TrainedStateInput(data: try DataSource.load(start.config.data, split: .train), note: "the checkpoint's training data", start: start)
        }
        do {
            return TrainedStateInput(data: try DataSource.load("fashion-mnist", split: .train), note: nil, start: start)
        } catch let error as DataError where start == nil {
            let data = try DataSource.load("synthetic:n=60000", split: .train)
            return TrainedStateInput(data: data, note: "Fashion-MNIST not found: \(error.problem); synthetic images instead", start: nil)
        }
    }
}

extension TrainedStateBenchmarkResult {
    /// The text lines of `mpivae bench`.
    var report: [String] {
        func census(_ c: SubnormalCensus) -> String {
            "\(c.activations) of \(c.activationValues) activations, \(c.gradients) of \(c.gradientValues) gradients, \(c.parametersAndMoments) of \(c.parameterAndMomentValues) parameters and Adam moments"
        }
        var lines = ["trained regime, rank 0, batch \(batchSize) of \(data)\(dataNote.map { " (\($0))" } ?? "")"]
        lines.append("  trained state: \(trainedState) (Adam step \(trainedAdamStep))")
        lines.append(String(format: "  step: fresh state %.0f samples/s, trained state %.0f samples/s = %.3f of fresh (medians of %d windows each)",
                            freshSamplesPerSecond, trainedSamplesPerSecond, trainedOverFresh, freshRepeatSamplesPerSecond.count))
        lines.append("  subnormal values after one step (\(subnormalsFlushed ? "flushed to zero" : "kept, IEEE")): fresh \(census(freshSubnormals)); trained \(census(trainedSubnormals))")
        if trainedIsSlower {
            lines.append(String(format: "  SLOWER: the trained state steps %.0f%% slower than the fresh one (more than %.0f%%)%@",
                                100 * (1 - trainedOverFresh), 100 * TrainedStateBenchmark.slowdownThreshold,
                                subnormalsFlushed ? "" : "; subnormals are kept: on CPUs where they are slow, drop --ieee-subnormals / MPIVAE_IEEE_SUBNORMALS"))
        }
        return lines
    }
}
