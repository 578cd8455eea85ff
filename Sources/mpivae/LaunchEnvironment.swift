import Foundation

/// What the launcher told this process before MPI is up. Open MPI, MPICH/PMI and PMIx export the
/// rank in the environment, so an error found before initialization is printed once, by rank 0,
/// not once per rank.
enum LaunchEnvironment {
    static var rank: Int {
        let env = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = env[key], let r = Int(value) { return r }
        }
        return 0
    }
}
