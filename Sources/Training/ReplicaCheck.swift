import MPI
import VAE

/// Replicas must stay bit-identical: they start from one broadcast and apply the same allreduced
/// update. A checksum of parameters and optimizer state compared across ranks catches the day
/// they do not (a faulty node, a non-deterministic kernel) and names the step.
enum ReplicaCheck {
    static func verify(_ parameters: UnsafeMutableBufferPointer<Float>, optimizer: Adam, comm: Communicator, step: Int) throws {
        guard comm.size > 1 else { return }
        let local = Int64(bitPattern: checksum(parameters) ^ (checksum(optimizer.m) &* 31) ^ (checksum(optimizer.v) &* 131))
        let all = try comm.allgather([local])
        if let odd = all.firstIndex(where: { $0 != all[0] }) {
            throw AgreedError("replicas diverged by step \(step): rank \(odd)'s parameters or optimizer state differ from rank 0's")
        }
    }

    /// FNV-1a over the bit patterns, four lanes at a time so the loop stays cheap.
    static func checksum(_ values: UnsafeMutableBufferPointer<Float>) -> UInt64 {
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (FNV1a.offsetBasis, 0x8422_2325_cbf2_9ce4, 0x9ce4_8422_2325_cbf2, 0x2325_cbf2_9ce4_8422)
        let n = values.count
        var i = 0
        while i + 4 <= n {
            lanes.0 = FNV1a.step(lanes.0, UInt64(values[i].bitPattern))
            lanes.1 = FNV1a.step(lanes.1, UInt64(values[i + 1].bitPattern))
            lanes.2 = FNV1a.step(lanes.2, UInt64(values[i + 2].bitPattern))
            lanes.3 = FNV1a.step(lanes.3, UInt64(values[i + 3].bitPattern))
            i += 4
        }
        while i < n { lanes.0 = FNV1a.step(lanes.0, UInt64(values[i].bitPattern)); i += 1 }
        return lanes.0 ^ (lanes.1 &* 3) ^ (lanes.2 &* 5) ^ (lanes.3 &* 7) ^ UInt64(n)
    }
}
