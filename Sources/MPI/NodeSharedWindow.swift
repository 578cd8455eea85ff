import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory every rank of one host can read and write directly (an MPI-3 shared-memory window,
/// `MPI_Win_allocate_shared`): each rank allocates its own segment and gets the address of every
/// other rank's. What ranks on one host would otherwise send each other through the transport's
/// buffers (two copies per byte), they read in place.
///
/// Ordering: a rank's plain stores become visible to the others at `synchronize`, which is
/// `MPI_Win_sync`, a barrier on `comm`, and `MPI_Win_sync` again (the unified memory model's
/// recipe, MPI 3.1 section 11.7). The window stays in one passive-target epoch (`lock_all`) for its
/// whole life, so nothing else is needed between those points.
public final class NodeSharedWindow {
    /// The ranks sharing the window: the communicator it was made on.
    public let comm: Communicator
    /// The bytes each rank asked for (the same on every rank).
    public let bytesPerRank: Int
    private var window: MPI_Win?
    private var bases: [UnsafeMutableRawPointer]

    /// Whether every rank of `comm` runs on this host, as MPI sees it (`MPI_Comm_split_type` with
    /// `MPI_COMM_TYPE_SHARED` keeps them all in one group). Collective.
    public static func coversOneHost(_ comm: Communicator) throws -> Bool {
        var node: MPI_Comm? = nil
        try check(MPI_Comm_split_type(comm.handle, mpivae_comm_type_shared(), Int32(comm.rank), mpivae_info_null(), &node),
                  "MPI_Comm_split_type")
        guard let made = node, made != mpivae_comm_null() else { return false }
        var size: Int32 = 0
        let rc = MPI_Comm_size(made, &size)
        var doomed: MPI_Comm? = made
        _ = MPI_Comm_free(&doomed)
        try check(rc, "MPI_Comm_size")
        let mine = Int(size)
        // Every rank must decide alike: one host only if each rank sees all of them beside it.
        let fewest = try comm.allreduce(Int64(mine), op: .min)
        return Int(fewest) == comm.size
    }

    /// Allocates `bytesPerRank` bytes on every rank (64-byte aligned, zeroed). Every rank of
    /// `comm` must be on this host (`coversOneHost`). Collective.
    public init(comm: Communicator, bytesPerRank: Int) throws {
        precondition(bytesPerRank >= 0, "NodeSharedWindow: negative size")
        self.comm = comm
        self.bytesPerRank = bytesPerRank
        // Segments rounded to whole pages, each rank's on its own, so its memory is placed near
        // the core that first touches it and no cache line is shared between two ranks' data.
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        // Open MPI may start a segment a few bytes past an alignment (a header of its own): ask
        // for one line more and begin at the first 64-byte boundary. Mappings are page-aligned,
        // so that boundary is the same byte in every process.
        let rounded = max(page, (bytesPerRank + 64 + page - 1) / page * page)
        var info: MPI_Info? = nil
        try check(MPI_Info_create(&info), "MPI_Info_create")
        defer { _ = MPI_Info_free(&info) }
        try check(MPI_Info_set(info, "alloc_shared_noncontig", "true"), "MPI_Info_set")
        var base: UnsafeMutableRawPointer? = nil
        var made: MPI_Win? = nil
        try check(withUnsafeMutablePointer(to: &base) { pointer in
            MPI_Win_allocate_shared(MPI_Aint(rounded), 1, info, comm.handle, UnsafeMutableRawPointer(pointer), &made)
        }, "MPI_Win_allocate_shared")
        window = made
        var found: [UnsafeMutableRawPointer] = []
        for r in 0..<comm.size {
            var size: MPI_Aint = 0
            var unit: Int32 = 0
            var peer: UnsafeMutableRawPointer? = nil
            let rc = withUnsafeMutablePointer(to: &peer) { pointer in
                MPI_Win_shared_query(made, Int32(r), &size, &unit, UnsafeMutableRawPointer(pointer))
            }
            let skip = peer.map { (64 - Int(bitPattern: $0) % 64) % 64 } ?? 0
            guard rc == MPI_SUCCESS, let peer, Int(size) - skip >= bytesPerRank else {
                bases = []
                if rc != MPI_SUCCESS { throw MPIError(code: rc, call: "MPI_Win_shared_query") }
                throw MPIError(code: MPI_ERR_OTHER, call: "MPI_Win_shared_query (rank \(r)'s segment is smaller than asked)")
            }
            found.append(peer + skip)
        }
        bases = found
        try check(MPI_Win_lock_all(mpivae_mode_nocheck(), made), "MPI_Win_lock_all")
        bases[comm.rank].initializeMemory(as: UInt8.self, repeating: 0, count: bytesPerRank)
        try synchronize()
    }

    // No deinit: MPI_Win_free is collective, so freeing from a deinit could leave a rank waiting
    // for a peer that is unwinding an error or already gone. A window lives as long as the run
    // that made it, and MPI_Finalize (or the process's end) releases it.

    /// Rank `r`'s segment, readable and writable by this rank.
    public func segment(of r: Int) -> UnsafeMutableRawPointer { bases[r] }

    /// Makes every rank's stores before this call visible to every rank after it. Collective.
    public func synchronize() throws {
        try check(MPI_Win_sync(window), "MPI_Win_sync")
        try comm.barrier()
        try check(MPI_Win_sync(window), "MPI_Win_sync")
    }
}
