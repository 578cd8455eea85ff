// Exercises every collective of the MPI module under `mpirun -np N` (or alone, as one rank) and
// prints what each rank got, for Tests/MPITests to check against values it computes itself.
//
// Output: one JSON object per line on stdout, {"rank":r,"size":p,"check":name,"values":[...]},
// values as strings so Int64 and Float survive exactly. Each rank ends with check "done".
// The inputs below are mirrored in Tests/MPITests/MPICheckExpectations.swift: change both.
//
// Modes:
//   (no arguments)          run every check, exit 0
//   --abort-from R          rank R calls Communicator.abort (code 3) while the others wait in a barrier
//   --exit-from R [--code C] rank R exits with code C (default 2) without finalizing, others wait
//   --time-allreduce N      time the in-place Float allreduce of N elements (rank 0 reports
//                           the median and best of 50 calls in ms); a measurement, not a test
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

/// One line per record, written with a single write(2) so lines of different ranks never interleave.
func report(_ check: String, _ values: [String]) {
    guard var line = try? encoder.encode(Record(rank: rank, size: size, check: check, values: values)) else { return }
    line.append(0x0A)
    try? FileHandle.standardOutput.write(contentsOf: line)
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

let known: Set<String> = ["--abort-from", "--exit-from", "--code", "--time-allreduce"]
for argument in CommandLine.arguments.dropFirst() where argument.hasPrefix("-") && !known.contains(argument) {
    fail("unknown argument \(argument); expected --abort-from R, --exit-from R [--code C], --time-allreduce N or nothing")
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
