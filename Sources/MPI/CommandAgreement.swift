import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The first exchange of a job: every rank says which command it runs and which version of the
/// ranks' protocol it speaks, before any collective. Ranks started with different commands (one
/// `train`, one `evaluate`) would otherwise call different collectives and hang, or fail with a
/// raw MPI_ERR_TRUNCATE when their messages cross.
///
/// The exchange itself must work between any two versions of the tool, so it is fixed for good:
/// each rank sends rank 0 one 64-byte record (an 8-byte magic number, the protocol version, the
/// command name) by point-to-point message, which never matches a collective's traffic; rank 0
/// compares them and sends every rank its verdict. All waits have a deadline.
public enum CommandAgreement {
    static let recordBytes = 64
    static let magic: UInt64 = 0x6D70_6976_6165_4147   // "mpivaeAG"
    static let recordTag: Int32 = 1501
    static let verdictTag: Int32 = 1502

    /// Returns once every rank runs `command` with `protocolVersion`; otherwise the job ends
    /// with one line from rank 0 (or, if rank 0 never answers, from the lowest rank that waited).
    public static func agree(command: String, protocolVersion: Int, on comm: Communicator, timeout: Double) throws {
        guard comm.size > 1 else { return }
        var record = [UInt8](repeating: 0, count: recordBytes)
        withUnsafeBytes(of: magic.littleEndian) { for i in 0..<8 { record[i] = $0[i] } }
        withUnsafeBytes(of: UInt64(protocolVersion).littleEndian) { for i in 0..<8 { record[8 + i] = $0[i] } }
        for (i, byte) in command.utf8.prefix(recordBytes - 17).enumerated() { record[16 + i] = byte }
        let deadline = MPIRuntime.wallTime() + timeout

        if comm.rank != 0 {
            var verdict: [Int64] = [0]
            try record.withUnsafeMutableBufferPointer { sent in
                try verdict.withUnsafeMutableBufferPointer { received in
                    var send: MPI_Request? = nil
                    try check(MPI_Isend(sent.baseAddress, Int32(recordBytes), mpivae_uint8(), 0, recordTag, comm.handle, &send), "MPI_Isend")
                    var receive: MPI_Request? = nil
                    try check(MPI_Irecv(received.baseAddress, 1, mpivae_int64(), 0, verdictTag, comm.handle, &receive), "MPI_Irecv")
                    let answer = Request(handle: receive, call: "MPI_Irecv", kind: .pointToPoint)
                    if try !answer.wait(until: deadline, policy: PollPolicy(spinSeconds: 0.001)) {
                        // Rank 0 is not running this command; the lowest waiting rank speaks first.
                        usleep(UInt32(min(comm.rank, 50)) * 200_000)
                        comm.abortJob(message: "rank 0 did not take part in the start-up agreement within \(StallWatchdog.format(timeout)) s "
                                      + "(is every rank running the same mpivae \(command)?); ending the job", code: StallWatchdog.exitCode)
                    }
                    _ = try Request(handle: send, call: "MPI_Isend", kind: .pointToPoint).wait(until: deadline)
                }
            }
            // A refusal: rank 0 prints the reason and aborts the job; wait for that.
            if verdict[0] != 1 {
                usleep(5_000_000)
                comm.abortJob(message: "the ranks disagree on the command (see rank 0's message)", code: StallWatchdog.exitCode)
            }
            return
        }

        let size = comm.size
        let incoming = UnsafeMutablePointer<UInt8>.allocate(capacity: recordBytes * size)
        defer { incoming.deallocate() }
        incoming.initialize(repeating: 0, count: recordBytes * size)
        var receives: [Request] = []
        for peer in 1..<size {
            var receive: MPI_Request? = nil
            try check(MPI_Irecv(incoming + peer * recordBytes, Int32(recordBytes), mpivae_uint8(), Int32(peer), recordTag,
                                comm.handle, &receive), "MPI_Irecv")
            receives.append(Request(handle: receive, call: "MPI_Irecv", kind: .pointToPoint))
        }
        var poller = Poller(policy: PollPolicy(spinSeconds: 0.001))
        var failures: [Int: String] = [:]
        while MPIRuntime.wallTime() < deadline {
            var pending = false
            for (i, receive) in receives.enumerated() where !receive.isComplete {
                do {
                    if try !receive.test() { pending = true }
                } catch {
                    failures[i + 1] = "sent an unreadable start-up record (\(error))"
                }
            }
            if !pending { break }
            poller.pause()
        }
        var problems: [String] = []
        var absent: [Int] = []
        for peer in 1..<size {
            if let failure = failures[peer] { problems.append("rank \(peer) \(failure)"); continue }
            guard receives[peer - 1].isComplete else { absent.append(peer); continue }
            let theirs = Array(UnsafeBufferPointer(start: incoming + peer * recordBytes, count: recordBytes))
            guard theirs.prefix(8).elementsEqual(record.prefix(8)) else {
                problems.append("rank \(peer) does not speak mpivae's start-up protocol")
                continue
            }
            if theirs[8..<16] != record[8..<16] {
                let version = theirs[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                problems.append("rank \(peer) speaks protocol version \(version), rank 0 version \(protocolVersion)")
            } else if theirs[16...] != record[16...] {
                let name = String(decoding: theirs[16...].prefix { $0 != 0 }, as: UTF8.self)
                problems.append("rank \(peer) runs `\(name)`, rank 0 runs `\(command)`")
            }
        }
        if !absent.isEmpty {
            let list = absent.map(String.init).joined(separator: ", ")
            problems.append("rank\(absent.count == 1 ? "" : "s") \(list) did not take part in the start-up agreement within "
                            + "\(StallWatchdog.format(timeout)) s")
        }
        if !problems.isEmpty {
            comm.abortJob(message: problems.joined(separator: "; ") + "; every rank must run the same mpivae command",
                          code: StallWatchdog.exitCode)
        }
        let ok = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        defer { ok.deallocate() }
        ok.pointee = 1
        var sends: [Request] = []
        for peer in 1..<size {
            var send: MPI_Request? = nil
            try check(MPI_Isend(ok, 1, mpivae_int64(), Int32(peer), verdictTag, comm.handle, &send), "MPI_Isend")
            sends.append(Request(handle: send, call: "MPI_Isend", kind: .pointToPoint))
        }
        for send in sends where try !send.wait(until: deadline + timeout) {
            comm.abortJob(message: "a rank stopped during the start-up agreement; ending the job", code: StallWatchdog.exitCode)
        }
    }
}
