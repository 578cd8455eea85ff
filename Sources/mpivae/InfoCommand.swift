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
        // Checked before MPI starts as well as after: Open MPI's initialization forks, which makes
        // OpenBLAS stop its threads and start them again from the main thread, so afterwards
        // they would flush even if only main had set the mode. Before, they are the threads
        // OpenBLAS started when it loaded, and only the start-up hook reaches those.
        let beforeMPI = Self.subnormalCheck()
        try JobStart.initializeMPI(command: "info", stallTimeout: nil)
        let comm = Communicator.world
        let check = beforeMPI + Self.subnormalCheck()
        let line = "\(MPIRuntime.processorName)\t\(getpid())\t\(BLASInfo.coreName)\t\(BLASInfo.threads)\t\(check.text)"
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

    /// This rank's mode as its threads compute, not as a register says: the subnormals that
    /// survive the probes on all BLAS threads.
    struct SubnormalCheck {
        var threads: Int
        var sgemmSubnormal = 0, sgemmOutputs = 0, stepSubnormal = 0, stepValues = 0

        static func + (a: SubnormalCheck, b: SubnormalCheck) -> SubnormalCheck {
            SubnormalCheck(threads: max(a.threads, b.threads), sgemmSubnormal: a.sgemmSubnormal + b.sgemmSubnormal,
                           sgemmOutputs: a.sgemmOutputs + b.sgemmOutputs, stepSubnormal: a.stepSubnormal + b.stepSubnormal,
                           stepValues: a.stepValues + b.stepValues)
        }

        var text: String {
            let mode = SubnormalMode.flushedOnThisThread ? "subnormals flushed" : "subnormals kept"
            return "\(mode): \(sgemmSubnormal) of \(sgemmOutputs) sgemm outputs and \(stepSubnormal) of \(stepValues) "
                + "training-step values subnormal (\(threads) BLAS thread\(threads == 1 ? "" : "s"))"
        }
    }

    static func subnormalCheck() -> SubnormalCheck {
        let threads = BLASInfo.threads
        let product = SubnormalProbe.sgemm(threads: threads)
        let step = SubnormalProbe.trainingStep(threads: threads)
        return SubnormalCheck(threads: product.threads, sgemmSubnormal: product.subnormalOutputs, sgemmOutputs: product.outputs,
                              stepSubnormal: step.census.total + step.moments,
                              stepValues: step.census.activationValues + step.census.gradientValues + step.momentValues)
    }
}
