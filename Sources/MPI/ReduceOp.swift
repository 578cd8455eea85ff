import CMPI

/// The element-wise reductions offered by `allreduce`.
public enum ReduceOp: CaseIterable {
    case sum, max, min

    var handle: MPI_Op {
        switch self {
        case .sum: return mpivae_op_sum()
        case .max: return mpivae_op_max()
        case .min: return mpivae_op_min()
        }
    }
}
