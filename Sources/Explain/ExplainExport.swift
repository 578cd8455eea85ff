import Datasets
import MPI
import VAE

/// The single entry point of the explanation export, for `mpivae explain` and the end of training.
public enum ExplainExport {
    /// Every rank encodes its contiguous shard of `dataset` in bounded batches (posterior, per-dim
    /// KL, -ELBO, reconstruction term, IWAE -log p(x)); rank 0 gathers the shards with gatherv
    /// and writes arrays, tables, pictures, per-sample explanations and report.html into
    /// `options.outDir`. With a nil or single-rank communicator the same path runs alone.
    /// Every rank returns the same summary, or throws the same error.
    /// `checkpointInfo` goes into the provenance (e.g. "checkpoint", "checkpoint_checksum", "seed").
    public static func run(model: VAEModel, dataset: Dataset, trainSet: Dataset?, options: ExplainOptions,
                           communicator: Communicator?, checkpointInfo: [String: String],
                           log: (String) -> Void) throws -> ExplainSummary {
        var clock = Stopwatch()
        let total = Stopwatch()
        try options.validate(count: dataset.count, latent: model.config.latent)
        guard model.config.inputDim == dataset.dimension else {
            throw ExplainError("explain --data \(dataset.name): expected samples of \(model.config.inputDim) values for this checkpoint, found \(dataset.dimension) (shape \(dataset.sampleShape))")
        }
        if let t = trainSet, t.dimension != dataset.dimension {
            throw ExplainError("explain: training data \(t.name): expected samples of \(dataset.dimension) values like the evaluation data, found \(t.dimension)")
        }
        let rank = communicator?.rank ?? 0, size = communicator?.size ?? 1
        // Whole canonical blocks a rank: a sample's values are then the same on any rank count.
        let range = EvaluationBlocks.share(samples: dataset.count, rank: rank, worldSize: size)
        let quiet = rank != 0
        if !quiet { log("explain: \(dataset.count) samples of \(dataset.name) over \(size) rank(s), IWAE K=\(options.iwaeK)") }
        var reported = 0
        let local = PosteriorPass.run(model: model, dataset: dataset, range: range, options: options) { done in
            // About ten progress lines whatever the size.
            if !quiet && done * 10 / max(range.count, 1) > reported {
                reported = done * 10 / max(range.count, 1)
                log("explain: rank 0 encoded \(done)/\(range.count) of its samples")
            }
        }
        var seconds = ["posterior_pass": clock.lap()]
        // A failure to assemble the shards happens on rank 0 alone: it becomes rank 0's outcome,
        // which every rank learns below, instead of an error the other ranks never see.
        let gathered = Result { try ShardGather.gather(local, communicator: communicator) }
        seconds["gather"] = clock.lap()

        var outcome: Result<ExplainSummary, Error> = .failure(ExplainError("explain: no result from rank 0"))
        var options = options
        if options.classNames.isEmpty && dataset.name.lowercased().hasPrefix("fashion-mnist") {
            options.classNames = ExplainOptions.fashionMNISTClassNames
        }
        if case .failure(let error) = gathered {
            outcome = .failure(error)
        } else if case .success(let assembled) = gathered, let all = assembled {
            outcome = Result {
                let writer = ExportWriter(model: model, dataset: dataset, trainSet: trainSet, options: options,
                                          checkpointInfo: checkpointInfo, ranks: size)
                var summary = try writer.write(all, seconds: seconds, log: log)
                summary.seconds["total"] = total.elapsed
                return summary
            }
        }
        // Rank 0 tells everyone how writing went, so that all ranks succeed or fail together.
        if let comm = communicator, size > 1 {
            var message = ""
            if rank == 0 {
                switch outcome {
                case .success(let s): message = "S" + ((try? s.transport()) ?? "")
                case .failure(let e): message = "E" + "\(e)"
                }
            }
            let received = try comm.broadcast(string: message, root: 0)
            if rank != 0 {
                if received.hasPrefix("S") {
                    outcome = Result { try ExplainSummary.decode(transport: String(received.dropFirst())) }
                } else {
                    outcome = .failure(ExplainError("explain: rank 0 failed: \(received.dropFirst())"))
                }
            }
        }
        let summary = try outcome.get()
        if !quiet {
            log("explain: \(summary.activeUnits) active units of \(summary.latent); mean -ELBO \(NumberFormat.fixed(summary.meanNegELBO, 2))"
                + (summary.meanNegLogPxIWAE.map { ", IWAE -log p(x) \(NumberFormat.fixed($0, 2))" } ?? "")
                + "; wrote \(summary.files.count) files to \(options.outDir) in \(NumberFormat.fixed(total.elapsed, 1)) s")
        }
        return summary
    }
}
