import ArgumentParser
import Foundation
import Linalg
import VAE

/// `--blas-threads`, shared by the commands that compute. Ranks x BLAS threads should equal the
/// cores: more threads than that make the ranks on a node fight over the same cores.
struct BLASThreadsOption: ParsableArguments {
    @Option(help: "BLAS threads per rank (default: OPENBLAS_NUM_THREADS if set, else this node's cores divided by its ranks).")
    var blasThreads: Int?

    /// Applies the choice before any BLAS work; returns the thread count.
    @discardableResult
    func apply() throws -> Int {
        let threads = try blasThreads ?? Self.defaultThreads()
        guard threads >= 1 else { throw ConfigError("--blas-threads expects a whole number of at least 1, got \(threads)") }
        BLASInfo.setThreads(threads)
        return threads
    }

    static func defaultThreads() throws -> Int {
        let env = ProcessInfo.processInfo.environment
        if let text = env["OPENBLAS_NUM_THREADS"] {
            guard let n = Int(text), n >= 1 else {
                throw ConfigError("OPENBLAS_NUM_THREADS should be a whole number of at least 1, found \(text)")
            }
            return n
        }
        // Open MPI and Slurm say how many ranks share this node.
        let local = ["OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"].lazy.compactMap { env[$0].flatMap { Int($0) } }.first ?? 1
        return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, local))
    }
}
