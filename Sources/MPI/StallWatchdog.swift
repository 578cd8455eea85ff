import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deadline on every blocking collective, so a rank that stops making progress (stopped,
/// stuck on a file system, looping, gone early) ends the job with one line instead of leaving the
/// others waiting in a collective forever.
///
/// Once installed, the blocking collectives of this module (allreduce, broadcast, gather family,
/// barrier) run as their non-blocking forms and wait through `wait`: MPI_Test back to back for a
/// while (a training step's allreduce normally completes inside that window, as fast as the
/// blocking call), then with sleeps that grow to a millisecond or two, so a rank waiting for a
/// late peer leaves its core almost idle. Past `timeout` seconds the first rank to notice asks
/// every other rank, over point-to-point messages on a communicator of its own, which collective
/// it is in: ranks waiting in the same one answer, a stopped rank does not, a rank elsewhere says
/// where. It then writes one line naming the ranks that did not arrive, the phase and step, and
/// ends the job with MPI_Abort. A rank that receives such a question from a lower rank leaves the
/// report to it, so the job ends with one line.
public final class StallWatchdog {
    /// The installed watchdog, or nil: collectives then block inside MPI as before.
    nonisolated(unsafe) public private(set) static var active: StallWatchdog?
    /// What the job is doing, named in the stall line ("training", "evaluation", ...).
    nonisolated(unsafe) public static var phase: String = "start-up"
    /// The step the job is at (-1: none), named in the stall line. Set once a step: a store.
    nonisolated(unsafe) public static var step: Int = -1
    /// Exit code of a job the watchdog ends.
    public static let exitCode: Int32 = 75

    /// Seconds a collective may wait for the other ranks before the job ends.
    public let timeout: Double
    /// Point-to-point questions and answers, and the final agreement; never a guarded collective.
    let control: Communicator
    /// Collectives this rank has entered on guarded communicators, the same count on every rank
    /// that follows the same path.
    private(set) var sequence: Int64 = 0
    /// 1 while running, 2 once this rank has finished and waits for the others to finish.
    private var state: Int64 = 1
    private var answers: [Request] = []
    private var answerBuffers: [UnsafeMutablePointer<Int64>] = []
    private var question = UnsafeMutablePointer<Int64>.allocate(capacity: Census.words)
    /// Until this time a lower rank is reporting, and this one waits for its abort.
    private var standDownUntil = 0.0
    private var stoodDownOnce = false
    /// Typical seconds of recent waits, which sets how long a wait spins before it sleeps.
    private var typicalWait = 0.0
    private let launcher: LauncherWatch?

    init(timeout: Double, control: Communicator, launcher: LauncherWatch?) {
        self.timeout = timeout
        self.control = control
        self.launcher = launcher
    }

    /// Installs the watchdog for `world`'s collectives (collective: duplicates the communicator
    /// for its own messages). `launcher`, if given, is checked while waiting: a rank whose
    /// launcher is gone stops at once.
    public static func install(timeout: Double, world: Communicator, launcher: LauncherWatch? = nil) throws {
        guard active == nil else { return }
        let control = try world.dup()
        active = StallWatchdog(timeout: timeout, control: control, launcher: launcher)
    }

    /// Back to blocking collectives (after MPI_Finalize there is nothing to guard).
    public static func uninstall() { active = nil }

    func guards(_ comm: Communicator) -> Bool { comm.handle != control.handle }

    // MARK: - Waiting

    /// Waits for `request` of collective `call` to complete, under the deadline.
    func wait(_ request: inout MPI_Request?, call: StaticString) throws {
        sequence &+= 1
        let start = MPI_Wtime()
        // Spin for a few times the typical wait: the step's allreduce stays on the fast path,
        // and a transfer that has begun is not slowed by sleeps.
        let spinUntil = start + min(1, max(0.005, 4 * typicalWait))
        var deadline = start + timeout
        var sleep = 0.000_05
        var nextChores = start + 0.05
        while true {
            var flag: Int32 = 0
            let rc = MPI_Test(&request, &flag, mpivae_status_ignore())
            if rc != MPI_SUCCESS { throw MPIError(code: rc, call: "\(call)") }
            if flag != 0 {
                let waited = MPI_Wtime() - start
                typicalWait = typicalWait == 0 ? waited : 0.9 * typicalWait + 0.1 * min(waited, 1)
                return
            }
            let now = MPI_Wtime()
            if now < spinUntil { continue }
            if now >= nextChores {
                nextChores = now + 0.05
                answerQuestions()
                launcher?.stopIfGone()
            }
            if now >= deadline {
                if now < standDownUntil {
                    deadline = standDownUntil
                } else {
                    report(call: call, waitedSince: start)
                    deadline = now + timeout
                }
            }
            // A few tests in a row at each wake-up, so a transfer under way keeps moving.
            for _ in 0..<8 {
                if MPI_Test(&request, &flag, mpivae_status_ignore()) != MPI_SUCCESS || flag != 0 { break }
            }
            if flag != 0 { continue }
            var interval = timespec(tv_sec: 0, tv_nsec: Int(sleep * 1e9))
            _ = nanosleep(&interval, nil)
            sleep = min(sleep * 2, 0.002)
        }
    }

    // MARK: - Finishing

    /// Every rank agrees it is done (an Ibarrier on the watchdog's own communicator, under the
    /// deadline), so MPI_Finalize, which waits for all ranks without limit, is reached only when
    /// it cannot hang. A rank that finishes while others still train waits here; at the deadline
    /// the job ends with the line, naming the ranks that did not finish.
    public func agreeDone() throws {
        state = 2
        StallWatchdog.phase = "finishing"
        var request: MPI_Request? = nil
        try check(MPI_Ibarrier(control.handle, &request), "MPI_Ibarrier")
        try wait(&request, call: "MPI_Ibarrier")
    }

    // MARK: - Census

    /// The messages: a question carries the asker's sequence; an answer carries the answerer's
    /// sequence, state and step.
    enum Census {
        static let words = 4
        static let questionTag: Int32 = 1601
        static let answerTag: Int32 = 1602
    }

    /// Answers every question waiting for this rank. A question from a lower rank means that rank
    /// reports the stall: this one then waits for its abort (and reports itself if none comes).
    private func answerQuestions() {
        while true {
            var flag: Int32 = 0
            var status = MPI_Status()
            guard MPI_Iprobe(mpivae_any_source(), Census.questionTag, control.handle, &flag, &status) == MPI_SUCCESS,
                  flag != 0 else { break }
            let asker = status.MPI_SOURCE
            guard MPI_Recv(question, Int32(Census.words), mpivae_int64(), asker, Census.questionTag, control.handle,
                           mpivae_status_ignore()) == MPI_SUCCESS else { break }
            if Int(asker) < control.rank {
                standDownUntil = max(standDownUntil, MPI_Wtime() + Self.reportGrace + 5)
            }
            let answer = UnsafeMutablePointer<Int64>.allocate(capacity: Census.words)
            answer[0] = sequence
            answer[1] = state
            answer[2] = Int64(StallWatchdog.step)
            answer[3] = 0
            var request: MPI_Request? = nil
            if MPI_Isend(answer, Int32(Census.words), mpivae_int64(), asker, Census.answerTag, control.handle,
                         &request) == MPI_SUCCESS {
                answers.append(Request(handle: request, call: "MPI_Isend", kind: .pointToPoint))
                answerBuffers.append(answer)
            }
        }
        answers.removeAll { (try? $0.test()) ?? true }
    }

    /// Seconds the reporting rank waits for answers.
    static let reportGrace = 1.5

    /// Asks every other rank where it is, waits briefly for answers, writes the line and ends
    /// the job. Returns only if a lower rank turned out to be reporting too.
    private func report(call: StaticString, waitedSince start: Double) {
        let me = control.rank
        let size = control.size
        let incoming = UnsafeMutablePointer<Int64>.allocate(capacity: Census.words * size)
        let outgoing = UnsafeMutablePointer<Int64>.allocate(capacity: Census.words)
        outgoing.initialize(repeating: 0, count: Census.words)
        outgoing[0] = sequence
        incoming.initialize(repeating: -1, count: Census.words * size)
        var receives: [Request?] = Array(repeating: nil, count: size)
        for peer in 0..<size where peer != me {
            var send: MPI_Request? = nil
            if MPI_Isend(outgoing, Int32(Census.words), mpivae_int64(), Int32(peer), Census.questionTag,
                         control.handle, &send) == MPI_SUCCESS {
                Request(handle: send, call: "MPI_Isend", kind: .pointToPoint).abandon()
            }
            var receive: MPI_Request? = nil
            if MPI_Irecv(incoming + peer * Census.words, Int32(Census.words), mpivae_int64(), Int32(peer),
                         Census.answerTag, control.handle, &receive) == MPI_SUCCESS {
                receives[peer] = Request(handle: receive, call: "MPI_Irecv", kind: .pointToPoint)
            }
        }
        let giveUp = MPI_Wtime() + Self.reportGrace
        while MPI_Wtime() < giveUp {
            answerQuestions()
            if MPI_Wtime() < standDownUntil { return }   // a lower rank reports; wait for its abort
            if receives.allSatisfy({ ($0.map { try? $0.test() } ?? true) ?? true }) { break }
            usleep(2_000)
        }
        // A rank that finished first leaves the report to a rank still running, once: that one
        // names the rank that finished early, which is what went wrong.
        if state == 2, !stoodDownOnce, (0..<size).contains(where: { peer in
            peer != me && ((try? receives[peer]?.test()) ?? false) && incoming[peer * Census.words + 1] == 1
        }) {
            stoodDownOnce = true
            standDownUntil = MPI_Wtime() + Self.reportGrace + 3
            return
        }
        var missing: [(rank: Int, note: String)] = []
        var arrived: [Int] = [me]
        for peer in 0..<size where peer != me {
            let answered = (try? receives[peer]?.test()) ?? false
            let base = incoming + peer * Census.words
            if !answered {
                missing.append((peer, "does not respond"))
            } else if base[1] == 2 {
                missing.append((peer, "has finished"))
            } else if base[1] != state {
                missing.append((peer, base[2] >= 0 ? "is still running, at step \(base[2])" : "is still running"))
            } else if base[0] == sequence {
                arrived.append(peer)
            } else {
                let at = base[2] >= 0 ? "at step \(base[2])" : "elsewhere"
                missing.append((peer, "is \(at), collective #\(base[0]) while this one is #\(sequence)"))
            }
        }
        let where_ = StallWatchdog.step >= 0 && state == 1
            ? "at step \(StallWatchdog.step) (\(StallWatchdog.phase), \(call))"
            : "in \(StallWatchdog.phase) (\(call))"
        let seconds = Self.format(MPI_Wtime() - start)
        let message: String
        if missing.isEmpty {
            message = "no progress for \(seconds) s \(where_) although every rank answered; ending the job (--stall-timeout \(Self.format(timeout)))"
        } else {
            let names = missing.map { "rank \($0.rank) \($0.note)" }.joined(separator: ", ")
            let noun = missing.count == 1 ? "rank \(missing[0].rank) did" : "ranks \(missing.map { "\($0.rank)" }.joined(separator: ", ")) did"
            message = "\(noun) not arrive \(where_) within --stall-timeout \(Self.format(timeout)) s (\(names)); "
                + "rank\(arrived.count == 1 ? "" : "s") \(arrived.sorted().map(String.init).joined(separator: ", ")) waited; ending the job"
        }
        control.abortJob(message: message, code: StallWatchdog.exitCode)
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))" : "\((seconds * 10).rounded() / 10)"
    }
}

extension Communicator {
    /// Runs a blocking collective: as is, or, with a watchdog installed, as its non-blocking form
    /// under the watchdog's deadline. The closures are not escaping, so nothing is allocated.
    @inline(__always)
    func collective(_ call: StaticString, _ blocking: () -> Int32,
                    nonBlocking: (UnsafeMutablePointer<MPI_Request?>) -> Int32) throws {
        guard let watchdog = StallWatchdog.active, watchdog.guards(self) else {
            try check(blocking(), call)
            return
        }
        var request: MPI_Request? = nil
        try check(nonBlocking(&request), call)
        try watchdog.wait(&request, call: call)
    }

    /// `abort`, from any communicator, always taking down the whole job (MPI_COMM_WORLD).
    func abortJob(message: String, code: Int32) -> Never {
        fflush(stdout)
        fputs("error: \(oneLine(message))\n", stderr)
        fflush(stderr)
        MPIRuntime.isAborting = true
        _ = MPI_Abort(mpivae_comm_world(), code)
        exit(code)
    }
}
