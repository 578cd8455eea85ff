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
        // The metadata lines are cut at a width the model config outgrows; the posterior family is
        // what a reader most needs from it, so it gets a line of its own.
        if let text = parsed.metadata["model_config"],
           let config = try? ModelConfig.decode(json: Data(text.utf8), source: "model_config") {
            print("posterior: " + oneLine(config.posterior ?? ModelConfig.defaultPosterior))
        }
        if checksums.anyFailed {
            throw ConfigError("\(file): a recorded checksum does not hold; the file is corrupt")
        }
    }
}
