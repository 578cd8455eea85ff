import ArgumentParser
import Datasets
import Foundation
import MPI
import Training
import VAE

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Mean -ELBO (reconstruction and KL) of a checkpoint on a dataset, and optionally the IWAE bound.")

    @Option(help: "A checkpoint written by mpivae train, or a run directory (its newest checkpoint).") var checkpoint: String
    @OptionGroup var blas: BLASThreadsOption
    @OptionGroup var subnormals: SubnormalOption
    @OptionGroup var stall: StallTimeoutOption
    @Option(help: "fashion-mnist, a directory of IDX files, a .npy or .csv file, or synthetic.") var data: String
    @Option(help: "train or test.") var split: String = "test"
    @Option(help: "Importance samples for the IWAE estimate of -log p(x) (0: off).") var iwae: Int = 0
    @Option(help: "Seed of the evaluation noise.") var seed: UInt64 = 0
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard (0...TrainConfig.maximumIWAE).contains(iwae) else {
            throw ConfigError("--iwae expects a whole number from 0 to \(TrainConfig.maximumIWAE), got \(iwae)")
        }
        let which = try CheckpointJob.split(split)
        try InputKinds.check("--data", data)
        let job = try CheckpointJob(command: "evaluate", checkpoint: checkpoint, blas: blas, stall: stall,
                                    options: "--iwae \(iwae) --seed \(seed)", budget: { estimate, config, _ in estimate.addEvaluation(config) }) {
            [("data", try DataSource.load(data, split: which))]
        }
        let (comm, model, dataset) = (job.comm, job.model, job.data)
        // With many importance samples this takes minutes: rank 0 reports about every tenth of its share.
        var reported = 0
        let result = try DistributedEvaluation(model: model, dataset: dataset, comm: comm, seed: seed).run(iwaeK: iwae) { done, share in
            guard comm.rank == 0, iwae > 0, done * 10 / max(share, 1) > reported else { return }
            reported = done * 10 / max(share, 1)
            try? FileHandle.standardError.write(contentsOf: Data("evaluate: rank 0 has done \(done) of its \(share) samples\n".utf8))
        }
        guard comm.rank == 0 else { return }
        if json {
            // JSON has no NaN or infinity: a non-finite figure is written as null.
            func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
            var object: [String: Any] = ["checkpoint": checkpoint, "data": data, "split": split, "count": result.count,
                                         "neg_elbo": number(result.negELBO), "world_size": comm.size]
            for (i, name) in result.termNames.enumerated() { object[name] = number(result.terms[i]) }
            if let nll = result.negLogLikelihood {
                object["iwae_k"] = iwae
                object["neg_log_likelihood_iwae"] = number(nll)
                object["elbo_iwae_gap"] = number(result.negELBO - nll)
            }
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: bytes, as: UTF8.self))
        } else {
            let terms = zip(result.termNames, 0..<result.terms.count).map { name, i in
                (name == "recon" ? "reconstruction" : EvaluationResult.displayName(name)) + String(format: " %.3f", result.terms[i])
            }
            print("\(data) \(split), \(result.count) samples: "
                + String(format: "-ELBO %.3f nats (", result.negELBO) + terms.joined(separator: ", ") + ")")
            if let nll = result.negLogLikelihood {
                print("IWAE (K = \(iwae)): " + String(format: "-log p(x) <= %.3f nats", nll))
                // How far the one-sample bound sits below the IWAE one: what a better posterior family closes.
                print(String(format: "gap: -ELBO - IWAE bound = %.3f nats", result.negELBO - nll))
            }
        }
    }
}
