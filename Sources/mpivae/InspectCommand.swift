import ArgumentParser
import Foundation
import SafeTensors
import Training
import VAE

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a safetensors file's tensors and metadata, and check its data checksum.")

    @Argument(help: "A .safetensors file, or a run directory (its newest checkpoint).") var file: String

    func run() throws {
        let parsed = try SafeTensorsFile.read(path: try CheckpointedModel.resolve(file))
        // The summary says, for each recorded checksum, whether it holds.
        let checksums = parsed.verifyChecksums()
        // Names and metadata are the file's bytes: control characters are shown, never sent.
        print(parsed.summary(checksums: checksums).split(separator: "\n", omittingEmptySubsequences: false)
            .map { oneLine(String($0)) }.joined(separator: "\n"))
        // The model in words: the metadata line above is cut short for long configs.
        if let json = parsed.metadata["model_config"],
           let model = try? JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)) {
            let variant = model.variant ?? ModelConfig.defaultVariant
            print("model: variant \(variant), latent \(model.latent)"
                + (variant == ModelConfig.mixtureVariant ? ", \(model.clusters ?? ModelConfig.defaultClusters) clusters" : "")
                + (variant == ModelConfig.mixtureVariant ? ", \(oneLine(model.priorCovariance ?? "diagonal"))-covariance components" : ""))
            // The posterior family gets a line of its own: the metadata line is cut at a width the
            // model config outgrows.
            print("posterior: " + oneLine(model.posterior ?? ModelConfig.defaultPosterior))
            // The weights' variant, which the tensor names alone (`.mu` / `.rho`) only hint at.
            if model.hasBayesianLayers {
                let b = model.bayesian ?? BayesianWeights()
                let which = b.allLayers ? "every dense, conv and transposed-conv layer" : "the bdense / bconv / bconvT layers"
                print("variant: Bayesian weights (Bayes by Backprop, local reparameterization) in \(which); prior N(0, \(b.priorSigma)^2), rho started at \(b.rhoInit); each tensor X stored as X.mu and X.rho, sigma = softplus(rho)")
            }
        }
        if checksums.anyFailed {
            throw ConfigError("\(file): a recorded checksum does not hold; the file is corrupt")
        }
    }
}
