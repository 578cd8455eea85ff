import ArgumentParser
import Datasets
import Foundation
import Linalg
import MPI
import Training

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the MPI library, the ranks and their hosts, the BLAS core and threads, and the datasets found.")

    @Option(help: "Exit non-zero unless the world has exactly this many ranks (catches launchers that start N worlds of one).")
    var expectWorldSize: Int?

    func run() throws {
        try JobStart.initializeMPI(command: "info", stallTimeout: nil)
        let comm = Communicator.world
        let line = "\(MPIRuntime.processorName)\t\(getpid())\t\(BLASInfo.coreName)\t\(BLASInfo.threads)"
        let lines = try comm.gather(string: line, root: 0)
        if comm.rank == 0 {
            let version = MPIRuntime.libraryVersion.split(separator: "\n").first.map(String.init) ?? "unknown"
            let ranks = lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            let hosts = Set(ranks.map { $0.first ?? "?" })
            print("mpivae \(MPIVAE.version)")
            print("MPI library: \(version.trimmingCharacters(in: .whitespaces))")
            print("world: \(comm.size) rank\(comm.size == 1 ? "" : "s") on \(hosts.count) host\(hosts.count == 1 ? "" : "s")")
            for (r, f) in ranks.enumerated() where f.count == 4 {
                print("  rank \(r): host \(f[0]), pid \(f[1]), BLAS \(f[2]) with \(f[3]) thread\(f[3] == "1" ? "" : "s")")
            }
            let found = DataSource.availableDatasets()
            print("datasets: \(found.isEmpty ? "none found (apt-get install dataset-fashion-mnist)" : found.joined(separator: ", "))")
        }
        if let expected = expectWorldSize, expected != comm.size {
            throw AgreedError("the world has \(comm.size) rank\(comm.size == 1 ? "" : "s"), expected \(expected): the launcher may lack PMI support and started separate worlds (see Cluster/README.md)")
        }
    }
}
