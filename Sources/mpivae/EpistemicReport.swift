import Datasets
import Explain
import Foundation
import MPI
import Training
import VAE

/// What `evaluate --weight-samples`, `explain --weight-samples` and `train`'s export of a Bayesian
/// model measure with T weight samples: the predictive estimate, every epistemic measure per
/// sample, the held-out class's separation by each, and the explanation export built from them.
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

    /// Everything one run measured, on every rank (the per-sample arrays are allreduced).
    struct Measured {
        var result: EpistemicResult
        var measures: [EpistemicMeasures.Measure]
        var heldOut: Int?
        var separations: [(measure: String, score: OutOfDistributionScore)]
        var tails: [(most: Double, least: Double)]
        var export: EpistemicExport
    }

    /// The samples whose per-pixel maps an export shows: the first 8, then the explained ones.
    static func shown(count: Int, explained: [Int]) -> [Int] {
        var s = Array(0..<min(8, count))
        for i in explained where i >= 0 && i < count && !s.contains(i) { s.append(i) }
        return s
    }

    func measure(comm: Communicator, model: VAEModel, dataset: Dataset, trainingCount: Int, excludedClass: Int?,
                 shown: [Int]) throws -> Measured {
        let run = EpistemicEvaluation(model: model, dataset: dataset, comm: comm, seed: seed)
        let r = try run.run(weightSamples: weightSamples, iwaeK: iwae, trainingCount: trainingCount, maps: shown)
        let measures = EpistemicMeasures.all(r, latent: model.config.latent)
        let held = heldOutClass ?? excludedClass
        var separations: [(measure: String, score: OutOfDistributionScore)] = []
        if let held, let labels = dataset.labels {
            for m in measures {
                separations.append((m.name, OutOfDistributionScore(scores: m.values, labels: labels, heldOut: Int32(held))))
            }
        }
        // The 5% most and least uncertain samples by each measure, and their mean −ELBO.
        let tail = max(1, Int((Double(r.count) * EpistemicExport.tailShare).rounded(.down)))
        let tails = measures.map { m -> (most: Double, least: Double) in
            let order = m.values.indices.sorted { (m.values[$0], $0) < (m.values[$1], $1) }
            func mean(_ idx: ArraySlice<Int>) -> Double { idx.reduce(0) { $0 + r.negELBO[$1] } / Double(max(idx.count, 1)) }
            return (mean(order.suffix(tail)), mean(order.prefix(tail)))
        }
        let figures: [(String, String)] = [
            ("samples, weight samples", "\(r.count), \(weightSamples)"),
            ("-ELBO at the weight means + weight KL / N", String(format: "%.3f + %.3f = %.3f nats", r.negELBOAtMeans, r.weightKLPerSample, r.negELBOAtMeans + r.weightKLPerSample)),
            ("predictive -log p(x) estimate", String(format: "%.3f nats (%@)", r.predictiveNLL, iwae > 0 ? "IWAE K = \(iwae)" : "ELBO")),
        ]
        let export = EpistemicExport(
            weightSamples: weightSamples,
            measures: measures.map { EpistemicExport.Measure(name: $0.name, definition: $0.definition, values: $0.values) },
            latentSpreadPerDimension: r.latentSpreadPerDim, negELBO: r.negELBO, shown: shown, maps: r.maps, figures: figures,
            separations: separations.map { s in
                EpistemicExport.Separation(score: s.measure, heldOut: Int(s.score.heldOut), classMeans: s.score.classMeans,
                                           ratio: s.score.ratio, auroc: s.score.auroc)
            })
        return Measured(result: r, measures: measures, heldOut: held, separations: separations, tails: tails, export: export)
    }

    static func excludedClass(_ metadata: [String: String]) -> Int? {
        metadata["train_config"].flatMap { try? TrainConfig.decode(Data($0.utf8), source: "checkpoint") }?.excludeClass
    }

    /// The lines printed after a measurement (rank 0).
    static func lines(_ m: Measured, data: String, split: String, weightSamples: Int, iwae: Int) -> [String] {
        let r = m.result
        var out = ["\(data) \(split), \(r.count) samples, \(weightSamples) weight samples:",
                   String(format: "-ELBO at the weight means %.3f + weight KL / N %.3f = %.3f nats; over the weight samples %.3f",
                          r.negELBOAtMeans, r.weightKLPerSample, r.negELBOAtMeans + r.weightKLPerSample, r.negELBOSampled),
                   String(format: "predictive -log p(x) estimate (%@) %.3f nats", iwae > 0 ? "IWAE K = \(iwae)" : "ELBO", r.predictiveNLL)]
        for (k, measure) in m.measures.enumerated() {
            let mean = measure.values.reduce(0, +) / Double(max(r.count, 1))
            var line = String(format: "%@%@: mean %.4g; -ELBO of the 5%% most uncertain %.3f, of the 5%% least uncertain %.3f",
                              measure.name, k == 0 ? " (ranks the samples)" : "", mean, m.tails[k].most, m.tails[k].least)
            if let s = m.separations.first(where: { $0.measure == measure.name })?.score {
                line += String(format: "; held-out class %d: mean %.4g vs %.4g over the others, ratio %.2f, AUROC %.3f",
                               Int(s.heldOut), s.classMeans[s.heldOut] ?? .nan, (s.classMeans[s.heldOut] ?? 0) / s.ratio, s.ratio, s.auroc)
            }
            out.append(line)
        }
        if let s = m.separations.first?.score {
            out.append("  class means of the \(m.measures[0].name): "
                       + s.classMeans.keys.sorted().map { String(format: "%d: %.4g", $0, s.classMeans[$0]!) }.joined(separator: ", "))
        }
        return out
    }

    /// `evaluate --weight-samples`: measure, print (text or JSON) and, with `uncertaintyOut`,
    /// write the explanations on their own.
    func run(comm: Communicator, model: VAEModel, dataset: Dataset, trainingCount: Int, metadata: [String: String]) throws {
        let shown = uncertaintyOut == nil ? [] : Self.shown(count: dataset.count, explained: [])
        let m = try measure(comm: comm, model: model, dataset: dataset, trainingCount: trainingCount,
                            excludedClass: Self.excludedClass(metadata), shown: shown)
        guard comm.rank == 0 else { return }
        if let uncertaintyOut {
            do {
                try m.export.write(to: uncertaintyOut, dataset: dataset, model: model,
                                   title: "The model's own uncertainty: \(dataset.name) \(split)")
            } catch {
                throw ConfigError("--uncertainty-out \(uncertaintyOut): \(error)")
            }
        }
        let r = m.result
        if json {
            var object: [String: Any] = [
                "checkpoint": checkpoint, "data": data, "split": split, "count": r.count, "world_size": comm.size,
                "weight_samples": weightSamples, "iwae_k": iwae,
                "neg_elbo_at_means": r.negELBOAtMeans, "weight_kl_per_sample": r.weightKLPerSample,
                "neg_elbo_with_weight_kl": r.negELBOAtMeans + r.weightKLPerSample,
                "neg_elbo_sampled": r.negELBOSampled, "predictive_neg_log_likelihood": r.predictiveNLL,
                "epistemic_latent_mean": r.latentSpread.reduce(0, +) / Double(max(r.count, 1)),
                "epistemic_reconstruction_mean": r.reconSpread.reduce(0, +) / Double(max(r.count, 1)),
                "uncertainty_measure": m.measures[0].name,
                "neg_elbo_most_uncertain_5pct": m.tails[0].most, "neg_elbo_least_uncertain_5pct": m.tails[0].least,
            ]
            var measures: [String: Any] = [:]
            for (k, measure) in m.measures.enumerated() {
                var entry: [String: Any] = ["mean": measure.values.reduce(0, +) / Double(max(r.count, 1)),
                                            "neg_elbo_most_uncertain_5pct": m.tails[k].most,
                                            "neg_elbo_least_uncertain_5pct": m.tails[k].least]
                if let s = m.separations.first(where: { $0.measure == measure.name })?.score {
                    entry["ratio"] = s.ratio
                    entry["auroc"] = s.auroc
                    entry["class_means"] = Dictionary(uniqueKeysWithValues: s.classMeans.map { (String($0.key), $0.value) })
                }
                measures[measure.name] = entry
            }
            object["measures"] = measures
            if let held = m.heldOut, let s = m.separations.first?.score {
                object["held_out_class"] = held
                object["ood"] = ["measure": m.measures[0].name, "ratio": s.ratio, "auroc": s.auroc]
            }
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: bytes, as: UTF8.self))
        } else {
            for line in Self.lines(m, data: data, split: split, weightSamples: weightSamples, iwae: iwae) { print(line) }
        }
    }
}
