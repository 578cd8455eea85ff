import Datasets
import Explain
import Foundation
import MPI
import Training
import VAE

/// What `evaluate --weight-samples` and `explain --weight-samples` print and write: a Bayesian
/// model's predictive estimate, its epistemic spread per sample, the held-out class's
/// separation, and (with `uncertaintyOut`) the uncertainty explanations.
struct EpistemicReport {
    let checkpoint: String
    let data: String
    let split: String
    let weightSamples: Int
    let iwae: Int
    let seed: UInt64
    let heldOutClass: Int?
    let uncertaintyOut: String?
    let json: Bool

    /// T weight samples: the predictive estimate, the epistemic spread per sample, and how well it
    /// flags a held-out class.
    func run(comm: Communicator, model: VAEModel, dataset: Dataset, trainingCount: Int,
                           metadata: [String: String]) throws {
        let run = EpistemicEvaluation(model: model, dataset: dataset, comm: comm, seed: seed)
        let shown = uncertaintyOut == nil ? [] : Array(0..<min(8, dataset.count))
        let r = try run.run(weightSamples: weightSamples, iwaeK: iwae, trainingCount: trainingCount, maps: shown)
        guard comm.rank == 0 else { return }
        var separations: [EpistemicExport.Separation] = []
        let excluded = metadata["train_config"].flatMap { try? TrainConfig.decode(Data($0.utf8), source: "checkpoint") }?.excludeClass
        let held = heldOutClass ?? excluded
        // The 5% most and least uncertain samples by the reconstruction spread, and their mean −ELBO.
        let order = r.reconSpread.indices.sorted { r.reconSpread[$0] < r.reconSpread[$1] }
        let tail = max(1, r.count / 20)
        func meanELBO(_ idx: ArraySlice<Int>) -> Double { idx.reduce(0) { $0 + r.negELBO[$1] } / Double(max(idx.count, 1)) }
        let least = meanELBO(order.prefix(tail)), most = meanELBO(order.suffix(tail))
        var ood: [String: Any] = [:]
        var oodLines: [String] = []
        if let held, let labels = dataset.labels {
            for (name, scores) in [("latent", r.latentSpread), ("reconstruction", r.reconSpread), ("-ELBO", r.elboSpread)] {
                let o = OutOfDistributionScore(scores: scores, labels: labels, heldOut: Int32(held))
                separations.append(EpistemicExport.Separation(score: name, heldOut: held, classMeans: o.classMeans,
                                                              ratio: o.ratio, auroc: o.auroc))
                ood[name] = ["ratio": o.ratio, "auroc": o.auroc,
                             "class_means": Dictionary(uniqueKeysWithValues: o.classMeans.map { (String($0.key), $0.value) })]
                oodLines.append(String(format: "held-out class %d by the %@ spread: mean %.4g vs %.4g over the others, ratio %.2f, AUROC %.3f",
                                       held, name, o.classMeans[Int32(held)] ?? .nan,
                                       (o.classMeans[Int32(held)] ?? 0) / o.ratio, o.ratio, o.auroc))
                oodLines.append("  class means: " + o.classMeans.keys.sorted().map { String(format: "%d: %.4g", $0, o.classMeans[$0]!) }.joined(separator: ", "))
            }
        }
        let meanLatent = r.latentSpread.reduce(0, +) / Double(max(r.count, 1))
        let meanRecon = r.reconSpread.reduce(0, +) / Double(max(r.count, 1))
        if let uncertaintyOut {
            let figures: [(String, String)] = [
                ("samples, weight samples", "\(r.count), \(weightSamples)"),
                ("-ELBO at the weight means + weight KL / N", String(format: "%.3f + %.3f = %.3f nats", r.negELBOAtMeans, r.weightKLPerSample, r.negELBOAtMeans + r.weightKLPerSample)),
                ("predictive -log p(x) estimate", String(format: "%.3f nats", r.predictiveNLL)),
                ("mean epistemic spread (latent, reconstruction)", String(format: "%.4g, %.4g", meanLatent, meanRecon)),
                ("-ELBO of the 5% most / least uncertain", String(format: "%.3f / %.3f", most, least)),
            ]
            let export = EpistemicExport(latentSpread: r.latentSpread, reconSpread: r.reconSpread, negELBO: r.negELBO,
                                         shown: shown, maps: r.maps, figures: figures, separations: separations)
            do {
                try export.write(to: uncertaintyOut, dataset: dataset, model: model)
            } catch {
                throw ConfigError("--uncertainty-out \(uncertaintyOut): \(error)")
            }
        }
        if json {
            var object: [String: Any] = [
                "checkpoint": checkpoint, "data": data, "split": split, "count": r.count, "world_size": comm.size,
                "weight_samples": weightSamples, "iwae_k": iwae,
                "neg_elbo_at_means": r.negELBOAtMeans, "weight_kl_per_sample": r.weightKLPerSample,
                "neg_elbo_with_weight_kl": r.negELBOAtMeans + r.weightKLPerSample,
                "neg_elbo_sampled": r.negELBOSampled, "predictive_neg_log_likelihood": r.predictiveNLL,
                "epistemic_latent_mean": meanLatent, "epistemic_reconstruction_mean": meanRecon,
                "neg_elbo_most_uncertain_5pct": most, "neg_elbo_least_uncertain_5pct": least,
            ]
            if let held { object["held_out_class"] = held; object["ood"] = ood }
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: bytes, as: UTF8.self))
        } else {
            print("\(data) \(split), \(r.count) samples, \(weightSamples) weight samples:")
            print(String(format: "-ELBO at the weight means %.3f + weight KL / N %.3f = %.3f nats; over the weight samples %.3f",
                         r.negELBOAtMeans, r.weightKLPerSample, r.negELBOAtMeans + r.weightKLPerSample, r.negELBOSampled))
            print(String(format: "predictive -log p(x) estimate (%@) %.3f nats", iwae > 0 ? "IWAE K = \(iwae)" : "ELBO", r.predictiveNLL))
            print(String(format: "epistemic spread: latent %.4g, reconstruction %.4g (mean variances across weight samples)",
                         meanLatent, meanRecon))
            print(String(format: "-ELBO of the 5%% most uncertain %.3f, of the 5%% least uncertain %.3f", most, least))
            for line in oodLines { print(line) }
        }
    }
}
