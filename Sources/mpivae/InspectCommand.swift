import ArgumentParser
import Foundation
import SafeTensors
import Training

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a safetensors file's tensors and metadata, and check its data checksum.")

    @Argument(help: "A .safetensors file.") var file: String

    func run() throws {
        let parsed = try SafeTensorsFile.read(path: file)
        print(parsed.summary())
        if let verdict = CheckpointStore.checksumVerdict(parsed) {
            print(verdict.ok ? "checksum: ok (\(verdict.detail))" : "checksum: FAILED (\(verdict.detail))")
            if !verdict.ok { throw ConfigError("\(file): the data checksum does not hold; the file is corrupt") }
        } else {
            print("checksum: none recorded")
        }
    }
}
