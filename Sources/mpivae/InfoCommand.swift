import ArgumentParser
import Datasets
import Foundation
import Linalg
import MPI
import Training
import VAE

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the MPI library, the ranks and their hosts, the BLAS core and threads, the subnormal mode, and the datasets found.",
        discussion: """
            The subnormal mode is checked on every rank by values, with its BLAS threads: an sgemm and \
            a training step made to produce subnormal floats, counting how many survive (0 when every \
            thread flushes them to zero).
            """)

    @Option(help: "Exit non-zero unless the world has exactly this many ranks (catches launchers that start N worlds of one).")
    var expectWorldSize: Int?
    @OptionGroup var blas: BLASThreadsOption
    @OptionGroup var subnormals: SubnormalOption

    func run() throws {
        try blas.apply()
        try MPIRuntime.initialize()
        let comm = Communicator.world
        let line = "\(MPIRuntime.processorName)\t\(getpid())\t\(BLASInfo.coreName)\t\(BLASInfo.threads)\t\(Self.subnormalCheck())"
        let lines = try comm.gather(string: line, root: 0)
        if comm.rank == 0 {
            let version = MPIRuntime.libraryVersion.split(separator: "\n").first.map(String.init) ?? "unknown"
            let ranks = lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            let hosts = Set(ranks.map { $0.first ?? "?" })
            print("mpivae \(MPIVAE.version)")
            print("MPI library: \(version.trimmingCharacters(in: .whitespaces))")
            print("world: \(comm.size) rank\(comm.size == 1 ? "" : "s") on \(hosts.count) host\(hosts.count == 1 ? "" : "s")")
            for (r, f) in ranks.enumerated() where f.count == 5 {
                print("  rank \(r): host \(f[0]), pid \(f[1]), BLAS \(f[2]) with \(f[3]) thread\(f[3] == "1" ? "" : "s"), \(f[4])")
            }
            print("subnormal floats: \(SubnormalMode.description)")
            let found = DataSource.availableDatasets()
            print("datasets: \(found.isEmpty ? "none found (apt-get install dataset-fashion-mnist)" : found.joined(separator: ", "))")
        }
        if let expected = expectWorldSize, expected != comm.size {
            throw AgreedError("the world has \(comm.size) rank\(comm.size == 1 ? "" : "s"), expected \(expected): the launcher may lack PMI support and started separate worlds (see Cluster/README.md)")
        }
    }

    /// This rank's mode as its threads compute, not as a register says: the main thread's
    /// setting, then the subnormals that survived the probes on all BLAS threads.
    static func subnormalCheck() -> String {
        let threads = BLASInfo.threads
        let product = SubnormalProbe.sgemm(threads: threads)
        let step = SubnormalProbe.trainingStep(threads: threads)
        let mode = SubnormalMode.flushedOnThisThread ? "subnormals flushed" : "subnormals kept"
        return "\(mode): \(product.subnormalOutputs) of \(product.outputs) sgemm outputs and "
            + "\(step.census.total + step.moments) of \(step.census.activationValues + step.census.gradientValues + step.momentValues) training-step values subnormal "
            + "(\(product.threads) BLAS thread\(product.threads == 1 ? "" : "s"))"
    }
}
