import CMPI
import Foundation

/// What each rank of `mpivae-mpicheck` must print in a world of `size` ranks, computed here from
/// the inputs alone. The input formulas mirror Sources/mpivae-mpicheck/main.swift (keep them in
/// step); every input is an exact binary fraction, so sums come out exact in any order, and the
/// values are compared as Doubles (every Int64 used is below 2^53).
enum Expected: Equatable, CustomStringConvertible {
    case numbers([Double])
    case strings([String])

    var description: String {
        switch self {
        case .numbers(let values): return "\(values)"
        case .strings(let values): return "\(values)"
        }
    }

    /// Whether the printed values match.
    func matches(_ printed: [String]) -> Bool {
        switch self {
        case .strings(let values):
            return values == printed
        case .numbers(let values):
            let parsed = printed.map { Double($0) }
            return parsed.count == values.count && zip(parsed, values).allSatisfy { $0 == $1 }
        }
    }
}

struct MPICheckExpectations {
    let size: Int

    // Inputs of rank r (mirrored).
    func floatInput(_ r: Int) -> [Double] { (0..<4).map { Double(r + 1) * 0.25 + Double($0) * (r % 2 == 0 ? 1 : -1) } }
    func doubleInput(_ r: Int) -> [Double] { (0..<4).map { Double(r) * 1.5 - Double($0 * (r + 1)) + 0.125 } }
    func int32Input(_ r: Int) -> [Double] { (0..<4).map { Double((r + 1) * ($0 + 1) * 1000 * ($0 % 2 == 0 ? 1 : -1) + (r == 1 ? 7 : 0)) } }
    func int64Input(_ r: Int) -> [Double] { (0..<4).map { Double((Int64(r + 1) << 40) * ($0 % 2 == 0 ? 1 : -1) + Int64($0 * r)) } }
    func gathervInput(_ r: Int) -> [Double] { (0..<(r == 1 ? 0 : r + 2)).map { Double(r) + Double($0) * 0.5 } }
    func allgathervInput(_ r: Int) -> [Double] { (0..<(r % 2 == 0 ? r + 1 : 0)).map { Double(r * 10 + $0) } }
    func scatterInput(_ r: Int) -> [Double] { (0..<(3 * size)).map { Double(r + 1) * 0.5 + Double($0) } }
    func greeting(_ r: Int) -> String { r == 1 ? "" : "rank \(r) says \"hi\" ✓" }
    var nonZeroRoot: Int { size > 1 ? 1 : 0 }
    var lastRoot: Int { size - 1 }
    var ranks: Range<Int> { 0..<size }

    /// The element-wise reduction of every rank's input.
    func reduce(_ input: (Int) -> [Double], _ op: String) -> [Double] {
        let all = ranks.map(input)
        return (0..<all[0].count).map { i in
            let column = all.map { $0[i] }
            switch op {
            case "sum": return column.reduce(0, +)
            case "max": return column.max() ?? .nan
            default: return column.min() ?? .nan
            }
        }
    }

    /// MPI's own text for an error class, asked of the library directly rather than of the module
    /// under test.
    static func mpiErrorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        _ = MPI_Error_string(code, &buffer, &length)
        return String(cString: buffer)
    }

    /// Every record rank `r` must print, by check name.
    func records(rank r: Int) -> [String: Expected] {
        var expected: [String: Expected] = [:]
        expected["world"] = .strings(["\(r)", "\(size)", "funneled"])

        let inputs: [(String, (Int) -> [Double])] =
            [("float", floatInput), ("double", doubleInput), ("int32", int32Input), ("int64", int64Input)]
        for op in ["sum", "max", "min"] {
            for (type, input) in inputs {
                expected["allreduce.\(op).\(type)"] = .numbers(reduce(input, op))
            }
        }
        expected["allreduce.value.sum.int"] = .numbers([Double(size * (size + 1) / 2)])
        expected["allreduce.value.max.uint64"] = .numbers([Double((size - 1) * 1_000_000_007)])
        expected["allreduce.value.min.double"] = .numbers([Double(size - 1) * -0.5])
        expected["allreduce.value.sum.uint8"] = .numbers([Double(size * (size + 1) / 2)])

        expected["broadcast.buffer"] = .numbers((0..<3).map { Double(nonZeroRoot * 10 + $0) + 0.5 })
        expected["broadcast.array"] = .numbers((0..<(lastRoot + 2)).map { Double(lastRoot * 100 + $0) })
        expected["broadcast.empty"] = .numbers([])
        expected["broadcast.bytes"] = .numbers([0, 255, 128, Double(lastRoot), 10])
        expected["broadcast.string"] = .strings(["hello from rank \(nonZeroRoot): ünïcødé ✓\ttab"])

        expected["gather"] = .numbers(r == lastRoot ? ranks.flatMap { [Double($0), Double($0 * $0 - 5)] } : [])
        for root in Set([0, nonZeroRoot]) {
            let atRoot = r == root
            expected["gatherv.root\(root).counts"] = .numbers(atRoot ? ranks.map { Double(gathervInput($0).count) } : [])
            expected["gatherv.root\(root).values"] = .numbers(atRoot ? ranks.flatMap(gathervInput) : [])
        }
        expected["gather.string"] = .strings(r == 0 ? ranks.map(greeting) : [])
        expected["allgather"] = .numbers(ranks.flatMap { [Double($0), Double(-3 * $0)] })
        expected["allgatherv.counts"] = .numbers(ranks.map { Double(allgathervInput($0).count) })
        expected["allgatherv.values"] = .numbers(ranks.flatMap(allgathervInput))
        expected["allgather.string"] = .strings(ranks.map(greeting))

        expected["dup"] = .numbers([Double(r), Double(size), Double(size)])
        // split(color: rank % 2, key: -rank): same parity together, highest world rank first.
        let half = ranks.filter { $0 % 2 == r % 2 }.sorted(by: >)
        expected["split"] = .numbers([Double(half.firstIndex(of: r) ?? -1), Double(half.count),
                                      Double(half.reduce(0, +))])
        expected["split.undefined"] = r == 0 ? .strings(["nil"]) : .numbers([Double(r - 1), Double(size - 1)])
        expected["barrier"] = .strings(["ok"])

        for op in ["sum", "max", "min"] {
            expected["iallreduce.\(op).float"] = .numbers(reduce(floatInput, op))
            expected["iallreduce.\(op).double"] = .numbers(reduce(doubleInput, op))
            expected["iallreduce.\(op).double.send"] = .numbers(doubleInput(r))
        }
        expected["ibroadcast"] = expected["broadcast.buffer"]
        expected["ibarrier"] = .strings(["ok"])
        expected["igather"] = expected["gather"]
        expected["igatherv"] = .numbers(r == 0 ? ranks.flatMap(gathervInput) : [])
        expected["iallgather"] = expected["allgather"]
        expected["iallgather.inplace"] = .numbers(ranks.flatMap { [Double($0) + 0.25, Double($0) * -2] })
        let blocks = ranks.map(scatterInput)
        expected["ireducescatter"] = .numbers((0..<3).map { i in blocks.map { $0[3 * r + i] }.reduce(0, +) })
        expected["ireducescatter.inplace.max"] = .numbers((0..<3).map { i in blocks.map { $0[3 * r + i] }.max() ?? .nan })
        // Rank 0 gives up at its deadline (a world of one reports it inverted: there the barrier
        // completes at once), then completes the barrier.
        expected["wait.deadline"] = .strings(["false", "true", "true"])
        expected["cancel.collective"] = .strings(["MPI_Ibarrier", "\(MPI_ERR_REQUEST)", "true"])

        let rootError = Self.mpiErrorString(MPI_ERR_ROOT)
        expected["invalid.root"] = .strings(["MPI_Bcast", "\(MPI_ERR_ROOT)", rootError, "MPI_Bcast failed: \(rootError)"])
        let argError = Self.mpiErrorString(MPI_ERR_ARG)
        expected["invalid.color"] = .strings(["MPI_Comm_split", "\(MPI_ERR_ARG)", argError,
                                              "MPI_Comm_split failed: \(argError)"])
        expected["after-error"] = .numbers([Double(size)])
        expected["finalized"] = .strings(["false", "true"])
        expected["done"] = .strings([])
        return expected
    }
}
