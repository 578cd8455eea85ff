import MPI

/// Brings every rank's contiguous shard of the posterior arrays to rank 0, in rank order.
enum ShardGather {
    /// The whole evaluation set's arrays at rank 0, nil on the other ranks.
    static func gather(_ local: PosteriorArrays, communicator: Communicator?) throws -> PosteriorArrays? {
        guard let comm = communicator, comm.size > 1 else { return local }
        let mu = try comm.gatherv(local.mu, root: 0)
        let logvar = try comm.gatherv(local.logvar, root: 0)
        let kl = try comm.gatherv(local.klPerDim, root: 0)
        let negELBO = try comm.gatherv(local.negELBO, root: 0)
        let recon = try comm.gatherv(local.recon, root: 0)
        let iwae = try comm.gatherv(local.negLogPxIWAE, root: 0)
        // Every rank's model declares the same extras, so every rank makes the same calls.
        var extras: [[[Float]]] = []
        for values in local.extraValues { extras.append(try comm.gatherv(values, root: 0)) }
        guard comm.rank == 0 else { return nil }
        return try PosteriorArrays.concatenating(latent: local.latent, mu: mu, logvar: logvar, kl: kl,
                                                 negELBO: negELBO, recon: recon, iwae: iwae,
                                                 extras: local.extras, extraValues: extras)
    }
}
