import ArgumentParser

struct MPIVAE: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "mpivae",
        abstract: "Data-parallel variational autoencoders over MPI, with posterior-based explanations.",
        discussion: "Every command runs the same under `mpirun -np N` and alone as one rank.",
        version: version,
        subcommands: [InfoCommand.self, TrainCommand.self, EvaluateCommand.self, ExplainCommand.self,
                      BenchCommand.self, InspectCommand.self, ReportCommand.self])
}
