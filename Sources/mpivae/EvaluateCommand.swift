import ArgumentParser
import Datasets
import Explain
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
    @Option(help: "Gaussian posteriors: Adam steps refining each sample's posterior from the encoder's output before its ELBO and IWAE (0: the encoder's posterior; separates the family's gap from the encoder's). Ranks differ by up to one block of 64 images, which must take less than --stall-timeout.")
    var refineSteps: Int = 0
    @Option(help: "With --refine-steps: Adam's step size on the posterior parameters.") var refineLr: Float = RefinementSettings.defaultLearningRate
    @Option(help: "With --refine-steps: samples of z averaged in each refinement step's gradient (1 to \(RefinementSettings.maximumSamples)).")
    var refineSamples: Int = 1
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Bayesian models: weight samples for the predictive -log p(x) estimate and the epistemic spread (0: weights at their means only).")
    var weightSamples: Int = 0
    @Option(help: "With --weight-samples: the class whose uncertainty is compared with the others' (default: the class the run excluded from training).")
    var heldOutClass: Int?
    @Option(help: "With --weight-samples: write the uncertainty explanations here (epistemic.npy with each sample's [latent spread, reconstruction spread], per-pixel maps, the most and least uncertain samples, the weights' signal-to-noise histograms, uncertainty.html).")
    var uncertaintyOut: String?

    func run() throws {
        guard (0...TrainConfig.maximumIWAE).contains(iwae) else {
            throw ConfigError("--iwae expects a whole number from 0 to \(TrainConfig.maximumIWAE), got \(iwae)")
        }
        guard (0...4096).contains(weightSamples) else {
            throw ConfigError("--weight-samples expects a whole number from 0 to 4096, got \(weightSamples)")
        }
        if weightSamples == 0, heldOutClass != nil || uncertaintyOut != nil {
            throw ConfigError("--held-out-class and --uncertainty-out need --weight-samples T (T >= 2)")
        }
        guard (0...RefinementSettings.maximumSteps).contains(refineSteps) else {
            throw ConfigError("--refine-steps expects a whole number from 0 to \(RefinementSettings.maximumSteps), got \(refineSteps)")
        }
        guard refineLr.isFinite, refineLr > 0, refineLr <= 10 else {
            throw ConfigError("--refine-lr expects a number above 0 and at most 10, got \(refineLr)")
        }
        guard (1...RefinementSettings.maximumSamples).contains(refineSamples) else {
            throw ConfigError("--refine-samples expects a whole number from 1 to \(RefinementSettings.maximumSamples), got \(refineSamples)")
        }
        if refineSteps > 0, weightSamples > 0 {
            throw ConfigError("--refine-steps refines the posterior with the weights at their means; it does not combine with --weight-samples")
        }
        let which = try CheckpointJob.split(split)
        try InputKinds.check("--data", data)
        let job = try CheckpointJob(command: "evaluate", checkpoint: checkpoint, blas: blas, stall: stall,
                                    options: "--iwae \(iwae) --seed \(seed)" + (refineSteps > 0 ? " --refine-steps \(refineSteps)" : ""), budget: { estimate, config, _ in estimate.addEvaluation(config) }) {
            [("data", try DataSource.load(data, split: which))]
        }
        let (comm, model, dataset) = (job.comm, job.model, job.data)
        // A Bayesian model's ELBO over z and W adds the weight KL once per training set: KL / N a
        // sample, N the training set size the checkpoint records.
        let trainingCount = Int(job.metadata["dataset_count"] ?? "") ?? 0
        if weightSamples > 0 {
            guard model.weightKL != nil else {
                throw AgreedError("--weight-samples \(weightSamples): \(checkpoint) has no Bayesian layers (train with --bayesian-weights or bdense/bconv/bconvT entries)")
            }
            let report = EpistemicReport(checkpoint: checkpoint, data: data, split: split, weightSamples: weightSamples,
                                         iwae: iwae, seed: seed, heldOutClass: heldOutClass,
                                         uncertaintyOut: uncertaintyOut, json: json)
            try report.run(comm: comm, model: model, dataset: dataset, trainingCount: trainingCount, metadata: job.metadata)
            return
        }
        // With many importance samples this takes minutes: rank 0 reports about every tenth of its share.
        var reported = 0
        let evaluation = DistributedEvaluation(model: model, dataset: dataset, comm: comm, seed: seed,
                                               trainingCount: trainingCount)
        if refineSteps > 0 {
            if let reason = Evaluator.refinementUnsupported(model) { throw AgreedError("--refine-steps: \(reason)") }
            evaluation.refinement = RefinementSettings(steps: refineSteps, learningRate: refineLr, samples: refineSamples)
        }
        let result = try evaluation.run(iwaeK: iwae) { done, share in
            guard comm.rank == 0, iwae > 0 || refineSteps > 0, done * 10 / max(share, 1) > reported else { return }
            reported = done * 10 / max(share, 1)
            try? FileHandle.standardError.write(contentsOf: Data("evaluate: rank 0 has done \(done) of its \(share) samples\n".utf8))
        }
        let clusters = try ClusterEvaluation.run(model: model, dataset: dataset, comm: comm)
        guard comm.rank == 0 else { return }
        if json {
            // JSON has no NaN or infinity: a non-finite figure is written as null.
            func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
            var object: [String: Any] = ["checkpoint": checkpoint, "data": data, "split": split, "count": result.count,
                                         "neg_elbo": number(result.negELBO), "world_size": comm.size]
            for (i, name) in result.termNames.enumerated() { object[name] = number(result.terms[i]) }
            if refineSteps > 0 {
                object["refine_steps"] = refineSteps
                // The flag as written (0.01), not its Float widened (0.0099999998).
                object["refine_lr"] = Double("\(refineLr)") ?? Double(refineLr)
                object["refine_samples"] = refineSamples
            }
            if let clusters {
                object["cluster_sizes"] = clusters.sizes
                if let a = clusters.agreement {
                    object["cluster_accuracy"] = a.accuracy
                    object["cluster_nmi"] = a.nmi
                    object["cluster_label_counts"] = a.counts
                }
            }
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
            if refineSteps > 0 {
                print("posterior refined per sample from the encoder's output: \(refineSteps) Adam steps, step size \(refineLr), \(refineSamples) sample\(refineSamples == 1 ? "" : "s") of z a step")
            }
            print("\(data) \(split), \(result.count) samples: "
                + String(format: "-ELBO %.3f nats (", result.negELBO) + terms.joined(separator: ", ") + ")")
            if let nll = result.negLogLikelihood {
                print("IWAE (K = \(iwae)): " + String(format: "-log p(x) <= %.3f nats", nll))
                // How far the one-sample bound sits below the IWAE one: what a better posterior family closes.
                print(String(format: "gap: -ELBO - IWAE bound = %.3f nats", result.negELBO - nll))
            }
            if model.weightKL != nil {
                print("Bayesian weights at their means; weight_kl is KL(q(W) || p(W)) / N, N = \(trainingCount) training samples")
            }
            if let clusters {
                print("clusters (argmax q(y|x)), sizes: " + clusters.sizes.map(String.init).joined(separator: " "))
                if let a = clusters.agreement {
                    print(String(format: "clustering against the labels: accuracy %.4f (Hungarian one-to-one matching), NMI %.4f (arithmetic normalization)",
                                 a.accuracy, a.nmi))
                }
            }
        }
    }
}
