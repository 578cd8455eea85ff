// Exercises every collective of the MPI module under `mpirun -np N` (or alone, as one rank) and
// prints what each rank got, for Tests/MPITests to check against values it computes itself.
//
// Output: one JSON object per line on stdout, {"rank":r,"size":p,"check":name,"values":[...]},
// values as strings so Int64 and Float survive exactly. Each rank ends with check "done".
// The inputs below are mirrored in Tests/MPITests/MPICheckExpectations.swift: change both.
//
// Modes:
//   (no arguments)          run every check, exit 0
//   --records DIR           write each rank's records to DIR/rank-R.jsonl instead of stdout:
//                           mpirun forwards a rank's stdout in reads of up to 4 KiB, which can
//                           cut a line in two and put another rank's output in between
//   --abort-from R          rank R calls Communicator.abort (code 3) while the others wait in a barrier
//   --exit-from R [--code C] rank R exits with code C (default 2) without finalizing, others wait
//   --time-allreduce N      time the in-place Float allreduce of N elements (rank 0 reports
//                           the median and best of 50 calls in ms); a measurement, not a test
//   --stall-timeout T       first agree on the command and install the stall watchdog with a
//                           T-second deadline (combine with the modes below and above)
//   --stop-from R           rank R stops itself (SIGSTOP) while the others wait in a barrier
//   --late-join S           ranks other than 0 join a barrier S seconds late; rank 0 reports
//                           the CPU seconds it used while waiting
import Foundation
import MPI

struct Record: Encodable {
    let rank: Int
    let size: Int
    let check: String
    let values: [String]
}

let world = Communicator.world
let rank = world.rank
let size = world.size
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]

/// Where records go: stdout, or this rank's file under --records.
let recordSink: FileHandle = {
    let arguments = CommandLine.arguments
    guard let at = arguments.firstIndex(of: "--records"), at + 1 < arguments.count else { return .standardOutput }
    let path = arguments[at + 1] + "/rank-\(rank).jsonl"
    guard FileManager.default.createFile(atPath: path, contents: nil),
          let handle = FileHandle(forWritingAtPath: path) else {
        world.abort(message: "mpicheck: cannot create \(path)", code: 2)
    }
    return handle
}()

/// One line per record, written with a single write(2).
func report(_ check: String, _ values: [String]) {
    guard var line = try? encoder.encode(Record(rank: rank, size: size, check: check, values: values)) else { return }
    line.append(0x0A)
    try? recordSink.write(contentsOf: line)
}

func report<T>(_ check: String, numbers: [T]) {
    report(check, numbers.map { "\($0)" })
}

func fail(_ message: String) -> Never {
    world.abort(message: message, code: 2)
}

// MARK: - Modes that end the job on purpose

func intArgument(after flag: String, default fallback: Int? = nil) -> Int? {
    let arguments = CommandLine.arguments
    guard let at = arguments.firstIndex(of: flag) else { return fallback }
    guard at + 1 < arguments.count, let value = Int(arguments[at + 1]) else {
        fail("\(flag) expects an integer, found \(at + 1 < arguments.count ? arguments[at + 1] : "nothing")")
    }
    return value
}

let known: Set<String> = ["--abort-from", "--exit-from", "--code", "--time-allreduce", "--records", "--stall-timeout",
                           "--stop-from", "--late-join"]
for argument in CommandLine.arguments.dropFirst() where argument.hasPrefix("-") && !known.contains(argument) {
    fail("unknown argument \(argument); expected --abort-from R, --exit-from R [--code C], --time-allreduce N, --records DIR or nothing")
}

if let at = CommandLine.arguments.firstIndex(of: "--stall-timeout") {
    guard at + 1 < CommandLine.arguments.count, let seconds = Double(CommandLine.arguments[at + 1]), seconds > 0 else {
        fail("--stall-timeout expects a positive number of seconds")
    }
    do {
        try CommandAgreement.agree(command: "mpicheck", protocolVersion: 1, on: world, timeout: seconds)
        try StallWatchdog.install(timeout: seconds, world: world)
        StallWatchdog.phase = "mpicheck"
    } catch {
        fail("mpicheck: \(error)")
    }
}

if let stopper = intArgument(after: "--stop-from") {
    report("stopping", ["\(stopper)"])
    if rank == stopper { kill(getpid(), SIGSTOP) }
    // Open MPI resumes stopped ranks (SIGCONT) before killing them; a barrier that fails then
    // is not one that completed.
    if (try? world.barrier()) != nil { report("survived-stop", []) }
    exit(0)
}

if let at = CommandLine.arguments.firstIndex(of: "--late-join") {
    guard at + 1 < CommandLine.arguments.count, let seconds = Double(CommandLine.arguments[at + 1]), seconds >= 0 else {
        fail("--late-join expects a number of seconds")
    }
    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    do {
        try world.barrier()
        if rank != 0 { usleep(UInt32(seconds * 1e6)) }
        let (wall, cpu) = (MPIRuntime.wallTime(), cpuSeconds())
        try world.barrier()
        if rank == 0 {
            report("late-join", [String(format: "%.3f", MPIRuntime.wallTime() - wall), String(format: "%.3f", cpuSeconds() - cpu)])
        }
    } catch {
        fail("mpicheck: \(error)")
    }
    MPIRuntime.finalize()
    exit(0)
}

if let aborter = intArgument(after: "--abort-from") {
    report("aborting", ["\(aborter)"])
    if rank == aborter {
        world.abort(message: "mpicheck: deliberate abort from rank \(rank)", code: 3)
    }
    try? world.barrier()   // never completes: the aborting rank never arrives
    report("survived-abort", [])
    exit(0)
}

if let leaver = intArgument(after: "--exit-from") {
    let code = Int32(clamping: intArgument(after: "--code", default: 2) ?? 2)
    report("exiting", ["\(leaver)", "\(code)"])
    if rank == leaver {
        try? FileHandle.standardError.write(contentsOf: "error: mpicheck: rank \(rank) exits with code \(code)\n".data(using: .utf8) ?? Data())
        exit(code)
    }
    try? world.barrier()
    report("survived-exit", [])
    exit(0)
}

if let count = intArgument(after: "--time-allreduce") {
    guard count > 0 else { fail("--time-allreduce expects a positive element count, found \(count)") }
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    buffer.initialize(repeating: 1)
    var milliseconds: [Double] = []
    do {
        try world.allreduce(buffer, op: .sum)   // warm-up: connections and buffers
        for _ in 0..<50 {
            try world.barrier()
            let start = MPIRuntime.wallTime()
            try world.allreduce(buffer, op: .sum)
            milliseconds.append((MPIRuntime.wallTime() - start) * 1000)
        }
    } catch {
        fail("mpicheck: \(error)")
    }
    milliseconds.sort()
    if rank == 0 {
        report("time-allreduce", ["\(count)", String(format: "%.3f", milliseconds[milliseconds.count / 2]),
                                  String(format: "%.3f", milliseconds[0])])
    }
    exit(0)
}

// MARK: - Inputs (mirrored in the tests)

func floatInput(_ r: Int) -> [Float] { (0..<4).map { Float(r + 1) * 0.25 + Float($0) * (r % 2 == 0 ? 1 : -1) } }
func doubleInput(_ r: Int) -> [Double] { (0..<4).map { Double(r) * 1.5 - Double($0 * (r + 1)) + 0.125 } }
func int32Input(_ r: Int) -> [Int32] { (0..<4).map { Int32((r + 1) * ($0 + 1) * 1000 * ($0 % 2 == 0 ? 1 : -1) + (r == 1 ? 7 : 0)) } }
func int64Input(_ r: Int) -> [Int64] { (0..<4).map { (Int64(r + 1) << 40) * ($0 % 2 == 0 ? 1 : -1) + Int64($0 * r) } }
func gathervCount(_ r: Int) -> Int { r == 1 ? 0 : r + 2 }
func gathervInput(_ r: Int) -> [Double] { (0..<gathervCount(r)).map { Double(r) + Double($0) * 0.5 } }
func allgathervInput(_ r: Int) -> [Float] { (0..<(r % 2 == 0 ? r + 1 : 0)).map { Float(r) * 10 + Float($0) } }
func greeting(_ r: Int) -> String { r == 1 ? "" : "rank \(r) says \"hi\" ✓" }
let nonZeroRoot = size > 1 ? 1 : 0
let lastRoot = size - 1

// MARK: - Non-blocking checks

func scatterInput(_ r: Int) -> [Float] { (0..<(3 * size)).map { Float(r + 1) * 0.5 + Float($0) } }

func runNonBlockingChecks() throws {
    // Two allreduces in flight at once, completed in the opposite order, as gradient buckets are.
    let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
    let doubles = UnsafeMutableBufferPointer<Double>.allocate(capacity: 4)
    let doublesOut = UnsafeMutableBufferPointer<Double>.allocate(capacity: 4)
    defer { floats.deallocate(); doubles.deallocate(); doublesOut.deallocate() }
    for op in ReduceOp.allCases {
        _ = floats.initialize(from: floatInput(rank))
        _ = doubles.initialize(from: doubleInput(rank))
        let first = try world.iallreduce(floats, op: op)
        let second = try world.iallreduce(UnsafeBufferPointer(doubles), into: doublesOut, op: op)
        try second.wait()
        while try !first.test() {}
        report("iallreduce.\(op).float", numbers: Array(floats))
        report("iallreduce.\(op).double", numbers: Array(doublesOut))
        report("iallreduce.\(op).double.send", numbers: Array(doubles))
    }

    var shared = (0..<3).map { Double(rank * 10 + $0) + 0.5 }
    try shared.withUnsafeMutableBufferPointer { buffer in
        let request = try world.ibroadcast(buffer, root: nonZeroRoot)
        guard try request.wait(until: MPIRuntime.wallTime() + 30) else { fail("mpicheck: ibroadcast did not complete in 30 s") }
    }
    report("ibroadcast", numbers: shared)

    try world.ibarrier().wait()
    report("ibarrier", ["ok"])

    let mine = [Int32(rank), Int32(rank * rank - 5)]
    var gathered = [Int32](repeating: -1, count: rank == lastRoot ? 2 * size : 0)
    try mine.withUnsafeBufferPointer { send in
        try gathered.withUnsafeMutableBufferPointer { result in
            try world.igather(send, into: rank == lastRoot ? result : nil, root: lastRoot).wait()
        }
    }
    report("igather", numbers: gathered)

    let counts = (0..<size).map(gathervCount)
    var blocks = [Double](repeating: -1, count: rank == 0 ? counts.reduce(0, +) : 0)
    try gathervInput(rank).withUnsafeBufferPointer { send in
        try blocks.withUnsafeMutableBufferPointer { result in
            try world.igatherv(send, into: rank == 0 ? result : nil, counts: counts, root: 0).wait()
        }
    }
    report("igatherv", numbers: blocks)

    var everyone = [Int64](repeating: -1, count: 2 * size)
    try [Int64(rank), Int64(-3 * rank)].withUnsafeBufferPointer { send in
        try everyone.withUnsafeMutableBufferPointer { try world.iallgather(send, into: $0).wait() }
    }
    report("iallgather", numbers: everyone)

    // In place: only this rank's block is filled before the call.
    var shards = [Float](repeating: -1, count: 2 * size)
    shards[2 * rank] = Float(rank) + 0.25
    shards[2 * rank + 1] = Float(rank) * -2
    try shards.withUnsafeMutableBufferPointer { try world.iallgather(inPlace: $0).wait() }
    report("iallgather.inplace", numbers: shards)

    var reduced = [Float](repeating: -1, count: 3)
    try scatterInput(rank).withUnsafeBufferPointer { send in
        try reduced.withUnsafeMutableBufferPointer { try world.ireduceScatterBlock(send, into: $0, op: .sum).wait() }
    }
    report("ireducescatter", numbers: reduced)
    var inPlace = scatterInput(rank)
    try inPlace.withUnsafeMutableBufferPointer { try world.ireduceScatterBlock(inPlace: $0, op: .max).wait() }
    report("ireducescatter.inplace.max", numbers: Array(inPlace.prefix(3)))

    // A bounded wait gives up at its deadline and leaves the request running: rank 0 waits 0.2 s
    // for a barrier the others join only after 1 s, then completes it.
    // (Starting a collective already sends what it can, so the others start theirs late.)
    if rank == 0 {
        let late = try world.ibarrier()
        let start = MPIRuntime.wallTime()
        let early = try late.wait(until: start + 0.2)
        let waited = MPIRuntime.wallTime() - start
        let done = try late.wait(until: start + 60)
        report("wait.deadline", ["\(size == 1 ? !early : early)", "\(waited < 0.9)", "\(done)"])
    } else {
        usleep(1_000_000)
        try world.ibarrier().wait()
        report("wait.deadline", ["false", "true", "true"])
    }

    // Collectives cannot be cancelled: the error says so, and the request still completes.
    let uncancellable = try world.ibarrier()
    do {
        try uncancellable.cancel()
        report("cancel.collective", ["no error"])
    } catch let error as MPIError {
        try uncancellable.wait()
        report("cancel.collective", [error.call, "\(error.code)", "\(uncancellable.isComplete)"])
    }
}

// MARK: - Checks

func runChecks() throws {
    report("world", ["\(rank)", "\(size)", MPIRuntime.threadLevel.map { "\($0)" } ?? "none"])

    for op in ReduceOp.allCases {
        // Float through the buffer-pointer form, the one training uses on its gradient arena.
        var floats = floatInput(rank)
        try floats.withUnsafeMutableBufferPointer { try world.allreduce($0, op: op) }
        report("allreduce.\(op).float", numbers: floats)
        var doubles = doubleInput(rank)
        try world.allreduce(&doubles, op: op)
        report("allreduce.\(op).double", numbers: doubles)
        var int32s = int32Input(rank)
        try world.allreduce(&int32s, op: op)
        report("allreduce.\(op).int32", numbers: int32s)
        var int64s = int64Input(rank)
        try world.allreduce(&int64s, op: op)
        report("allreduce.\(op).int64", numbers: int64s)
    }
    report("allreduce.value.sum.int", numbers: [try world.allreduce(rank + 1, op: .sum)])
    report("allreduce.value.max.uint64", numbers: [try world.allreduce(UInt64(rank) * 1_000_000_007, op: .max)])
    report("allreduce.value.min.double", numbers: [try world.allreduce(Double(rank) * -0.5, op: .min)])
    report("allreduce.value.sum.uint8", numbers: [try world.allreduce(UInt8(rank + 1), op: .sum)])

    // Broadcasts from a root other than 0 whenever there are two ranks or more.
    var buffer = (0..<3).map { Double(rank * 10 + $0) + 0.5 }
    try buffer.withUnsafeMutableBufferPointer { try world.broadcast($0, root: nonZeroRoot) }
    report("broadcast.buffer", numbers: buffer)

    var array: [Int64] = rank == lastRoot ? (0..<(lastRoot + 2)).map { Int64(lastRoot * 100 + $0) } : []
    try world.broadcast(&array, root: lastRoot)
    report("broadcast.array", numbers: array)

    var empty: [Float] = rank == nonZeroRoot ? [] : [1, 2, 3]
    try world.broadcast(&empty, root: nonZeroRoot)
    report("broadcast.empty", numbers: empty)

    let bytes = try world.broadcast(bytes: rank == lastRoot ? [0, 255, 128, UInt8(lastRoot), 10] : [], root: lastRoot)
    report("broadcast.bytes", numbers: bytes)

    let text = try world.broadcast(string: rank == nonZeroRoot ? "hello from rank \(rank): ünïcødé ✓\ttab" : "",
                                   root: nonZeroRoot)
    report("broadcast.string", [text])

    let gathered = try world.gather([Int32(rank), Int32(rank * rank - 5)], root: lastRoot)
    report("gather", numbers: gathered)

    for root in Set([0, nonZeroRoot]).sorted() {
        let blocks = try world.gatherv(gathervInput(rank), root: root)
        report("gatherv.root\(root).counts", numbers: blocks.map(\.count))
        report("gatherv.root\(root).values", numbers: blocks.flatMap { $0 })
    }

    report("gather.string", try world.gather(string: greeting(rank), root: 0))
    report("allgather", numbers: try world.allgather([Int64(rank), Int64(-3 * rank)]))
    let allBlocks = try world.allgatherv(allgathervInput(rank))
    report("allgatherv.counts", numbers: allBlocks.map(\.count))
    report("allgatherv.values", numbers: allBlocks.flatMap { $0 })
    report("allgather.string", try world.allgather(string: greeting(rank)))

    let copy = try world.dup()
    report("dup", numbers: [copy.rank, copy.size, try copy.allreduce(1, op: .sum)])

    // Same parity together, ordered by descending world rank.
    if let half = try world.split(color: rank % 2, key: -rank) {
        report("split", numbers: [half.rank, half.size, try half.allreduce(rank, op: .sum)])
    } else {
        report("split", ["nil"])
    }
    if let rest = try world.split(color: rank == 0 ? Communicator.undefinedColor : 0, key: rank) {
        report("split.undefined", numbers: [rest.rank, rest.size])
    } else {
        report("split.undefined", ["nil"])
    }

    try world.barrier()
    report("barrier", ["ok"])

    try runNonBlockingChecks()

    // Deliberately invalid calls: MPI must hand the error back, and the communicator must still work.
    do {
        var values: [Float] = [1, 2]
        try values.withUnsafeMutableBufferPointer { try world.broadcast($0, root: size) }
        report("invalid.root", ["no error"])
    } catch let error as MPIError {
        report("invalid.root", [error.call, "\(error.code)", error.message, error.description])
    }
    do {
        _ = try world.split(color: -5, key: 0)
        report("invalid.color", ["no error"])
    } catch let error as MPIError {
        report("invalid.color", [error.call, "\(error.code)", error.message, error.description])
    }
    report("after-error", numbers: [try world.allreduce(1, op: .sum)])

    // Finalizing twice is harmless, and the exit hook then leaves MPI alone.
    MPIRuntime.finalize()
    MPIRuntime.finalize()
    report("finalized", ["\(MPIRuntime.isInitialized)", "\(MPIRuntime.isFinalized)"])
}

do {
    try runChecks()
    report("done", [])
} catch {
    fail("mpicheck: unexpected \(error)")
}
