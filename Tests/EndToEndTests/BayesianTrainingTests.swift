import Foundation
import TestSupport
import XCTest

/// Bayes by Backprop under data parallelism: the rank count changes neither the trajectory nor
/// the weight KL, which the job counts once (KL / N a sample), not once per rank.
final class BayesianTrainingTests: EndToEndCase {
    func testOneTwoAndThreeRanksAgreeAndCountTheWeightKLOnce() throws {
        var finals: [Int: [String: [Float]]] = [:]
        var logged: [Int: [Double]] = [:]
        for ranks in [1, 2, 3] {
            let out = Tool.temporaryDirectory("bayes-\(ranks)")
            try Tool.succeed(Tool.small + ["--out", out, "--epochs", "100", "--max-steps", "60", "--log-every", "10",
                                           "--bayesian-weights", "--prior-sigma", "0.5", "--no-eval", "--no-explain"],
                             ranks: ranks == 1 ? nil : ranks, timeout: 240)
            let ckpt = try Tool.latestCheckpoint(out)
            let tensors = try Tool.tensors(ckpt)
            finals[ranks] = tensors
            XCTAssertNotNil(tensors["encoder.0.weight.mu"]); XCTAssertNotNil(tensors["encoder.0.weight.rho"])
            XCTAssertNotNil(tensors["decoder.1.bias.rho"]); XCTAssertNil(tensors["encoder.0.weight"])
            let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
            let steps = text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["kind"] as? String == "step" }
            let kl = steps.compactMap { ($0["weight_kl"] as? NSNumber)?.doubleValue }
            XCTAssertEqual(kl.count, 6, "\(ranks) ranks: a weight_kl in every step record")
            logged[ranks] = kl
            // The last logged step's term is KL(q(W) || p(W)) / N of the parameters it started
            // from; one Adam step later (the checkpoint) it has moved by far less than 1%, while
            // counting it once per rank would make it `ranks` times larger.
            let n = Double(try XCTUnwrap(Int(try Tool.metadata(ckpt)["dataset_count"] ?? "")))
            var total = 0.0
            for (name, mu) in tensors where name.hasSuffix(".mu") && !name.hasPrefix("optimizer.") {
                let rho = try XCTUnwrap(tensors[String(name.dropLast(3)) + ".rho"], name)
                for (m, r) in zip(mu, rho) {
                    let s = log1p(exp(Double(r))), p = 0.5, md = Double(m)
                    total += log(p / s) + (s * s + md * md) / (2 * p * p) - 0.5
                }
            }
            let last = try XCTUnwrap(kl.last)
            XCTAssertEqual(last, total / n, accuracy: 0.01 * total / n, "\(ranks) ranks: weight_kl is KL / N, once")
        }
        let one = try XCTUnwrap(finals[1])
        for ranks in [2, 3] {
            let diff = Tool.relativeDifference(one, try XCTUnwrap(finals[ranks]), prefix: "")
            XCTAssertLessThan(diff, 2e-3, "\(ranks) ranks drifted from 1 rank by \(diff) (relative)")
            for (a, b) in zip(try XCTUnwrap(logged[1]), try XCTUnwrap(logged[ranks])) {
                XCTAssertEqual(a, b, accuracy: 1e-3 * a, "\(ranks) ranks: weight_kl")
            }
        }
    }

    /// mu, rho and their Adam moments come back by name: stopped mid-epoch on 2 ranks and resumed
    /// on 2, the run ends bit for bit where the straight run does (the weight noise is keyed by
    /// sample and epoch, so nothing about it has to be saved).
    func testResumeIsBitForBit() throws {
        let args = Tool.small + ["--bayesian-weights", "--epochs", "2", "--no-explain", "--no-eval"]
        let straight = Tool.temporaryDirectory("bayes-straight")
        try Tool.succeed(args + ["--out", straight], ranks: 2, timeout: 240)
        let split = Tool.temporaryDirectory("bayes-split")
        try Tool.succeed(args + ["--out", split, "--max-steps", "25"], ranks: 2, timeout: 240)
        try Tool.succeed(["train", "--resume", split, "--max-steps", "0"], ranks: 2, timeout: 240)
        let a = try Tool.tensorBytes(try Tool.latestCheckpoint(straight))
        let b = try Tool.tensorBytes(try Tool.latestCheckpoint(split))
        XCTAssertTrue(a.keys.contains("optimizer.v.encoder.0.weight.rho"))
        XCTAssertEqual(a.count, b.count)
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], "\(name) differs after resume") }

        // The finished run's uncertainty: the same figures on 1 and 2 ranks, and the export's files.
        var outputs: [String] = []
        for ranks in [nil, 2] as [Int?] {
            let r = try Tool.succeed(["evaluate", "--checkpoint", straight, "--data", "synthetic:n=1000",
                                      "--weight-samples", "3", "--json"], ranks: ranks, timeout: 240)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertGreaterThan(try XCTUnwrap(object["weight_kl_per_sample"] as? Double), 0)
            XCTAssertGreaterThan(try XCTUnwrap(object["epistemic_reconstruction_mean"] as? Double), 0)
            outputs.append(["neg_elbo_at_means", "predictive_neg_log_likelihood", "epistemic_latent_mean"]
                .map { "\(object[$0] ?? "none")" }.joined(separator: " "))
        }
        XCTAssertEqual(outputs[0], outputs[1], "evaluate --weight-samples differs between 1 and 2 ranks")
        let explained = Tool.temporaryDirectory("bayes-explain")
        try Tool.succeed(["explain", "--checkpoint", straight, "--data", "synthetic:n=1000", "--out", explained,
                          "--iwae", "2", "--weight-samples", "2"], ranks: 2, timeout: 240)
        for file in ["epistemic.npy", "most_uncertain.png", "uncertainty_maps.png", "snr_encoder_0_weight.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: explained + "/uncertainty/" + file), file)
        }
        XCTAssertTrue(try String(contentsOfFile: explained + "/report.html", encoding: .utf8).contains("own uncertainty (weight samples)"))
        // evaluate writes the same explanations on their own, with a page of their own.
        let alone = Tool.temporaryDirectory("bayes-uncertainty")
        try Tool.succeed(["evaluate", "--checkpoint", straight, "--data", "synthetic:n=1000", "--weight-samples", "2",
                          "--uncertainty-out", alone], timeout: 240)
        for file in ["epistemic.npy", "uncertainty.html", "least_uncertain.png", "class_uncertainty.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: alone + "/" + file), file)
        }
    }

    /// The export at the end of training explains a Bayesian model's own uncertainty in
    /// report.html (a section the browser shows, every picture decoded) and in every explained
    /// sample's entry, with the class left out of training named and separated.
    func testTrainExportShowsTheUncertaintyInTheReport() throws {
        let out = Tool.temporaryDirectory("bayes-export")
        let run = try Tool.succeed(Tool.small + ["--out", out, "--bayesian-weights", "--epochs", "1", "--exclude-class", "0",
                                                 "--explain-weight-samples", "3", "--explain-iwae", "2", "--no-explain-lime",
                                                 "--explain-sample", "1", "--no-eval"], ranks: 2, timeout: 240)
        XCTAssertTrue(run.stdout.contains("combined spread (ranks the samples)"), run.stdout)
        let dir = out + "/explain"
        for file in ["epistemic.npy", "latent_spread_per_dim.npy", "class_uncertainty.csv", "most_uncertain.png",
                     "least_uncertain.png", "uncertainty_maps.png", "snr_encoder_0_weight.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/uncertainty/" + file), file)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/samples/1/uncertainty.png"))
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json")))
            as? [String: Any])
        let epistemic = try XCTUnwrap(summary["epistemic"] as? [String: Any])
        XCTAssertEqual(epistemic["weightSamples"] as? Int ?? epistemic["weight_samples"] as? Int, 3)
        let separations = try XCTUnwrap((epistemic["separations"] as? [[String: Any]]))
        XCTAssertEqual(separations.first?["heldOut"] as? Int ?? separations.first?["held_out"] as? Int, 0, "\(separations)")
        let samples = try XCTUnwrap(summary["samples"] as? [[String: Any]])
        XCTAssertEqual(samples.count, 1)
        XCTAssertNotNil(samples[0]["epistemic"], "sample 1 names its uncertainty")

        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("The model&#39;s own uncertainty") || html.contains("The model's own uncertainty"))
        XCTAssertTrue(html.contains("epistemic uncertainty"), "the per-sample entry names the sample's uncertainty")
        let browsers = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        guard browsers.contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("chromium is not installed: the report was not opened in a browser")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ExplainTests/check_report.sh").path
        let check = try ProcessRunner.run("/bin/sh", [script, dir + "/report.html"], environment: ProcessInfo.processInfo.environment,
                                          timeout: 120)
        XCTAssertEqual(check.exitCode, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("|The model's own uncertainty (weight samples)|"), check.stdout)
    }

    /// `--bayesian-weights` with the conv preset makes its transposed convolutions Bayesian too:
    /// one epoch trains and the checkpoint holds their mu and rho by structural name.
    func testConvPresetIsBayesianDownToTheTransposedConvolutions() throws {
        let out = Tool.temporaryDirectory("bayes-conv")
        try Tool.succeed(["train", "--data", "synthetic:n=120", "--architecture", "conv", "--bayesian-weights",
                          "--latent", "3", "--batch-size", "60", "--epochs", "1", "--seed", "3", "--out", out,
                          "--no-eval", "--no-explain"], timeout: 240)
        let tensors = try Tool.tensors(try Tool.latestCheckpoint(out))
        for layer in ["decoder.2", "decoder.3"] {
            XCTAssertNil(tensors[layer + ".weight"], layer)
            for t in ["weight.mu", "weight.rho", "bias.mu", "bias.rho"] { XCTAssertNotNil(tensors["\(layer).\(t)"], "\(layer).\(t)") }
        }
        XCTAssertEqual(tensors["decoder.2.weight.rho"]?.count, 64 * 32 * 4 * 4)
        XCTAssertFalse(tensors.keys.contains { !$0.hasPrefix("optimizer.") && !$0.hasSuffix(".mu") && !$0.hasSuffix(".rho") },
                       "\(tensors.keys.sorted())")
    }

    func testBadBayesianSettingsAndExcludedClassesStopWithOneLine() throws {
        let out = Tool.temporaryDirectory("bayes-bad")
        let bad = try Tool.run(Tool.small + ["--out", out, "--bayesian-weights", "--prior-sigma", "0"])
        XCTAssertNotEqual(bad.exitCode, 0)
        XCTAssertTrue(bad.stderr.contains("--prior-sigma expects a positive number"), bad.stderr)
        let spec = try Tool.run(Tool.small + ["--out", out, "--encoder", "bdense:x"])
        XCTAssertNotEqual(spec.exitCode, 0)
        XCTAssertTrue(spec.stderr.contains("bdense:x"), spec.stderr)
        // The synthetic data's labels are its factors' classes: a label that no sample has is named.
        let missing = try Tool.run(Tool.small + ["--out", out, "--exclude-class", "99"])
        XCTAssertNotEqual(missing.exitCode, 0)
        XCTAssertTrue(missing.stderr.contains("--exclude-class 99"), missing.stderr)
    }
}
