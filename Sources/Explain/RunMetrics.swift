import Foundation

/// The records of a run's `metrics.jsonl` that its report draws, read leniently: the file of a
/// run still going may end in a line being written, and a damaged one may hold anything, so an
/// unreadable line is counted and skipped, never fatal.
public struct RunMetrics {
    public struct Epoch {
        public var epoch: Int
        public var step: Int?
        public var trainNegELBO: Double?, trainRecon: Double?, trainKL: Double?
        public var testNegELBO: Double?, testRecon: Double?, testKL: Double?
        /// Training steps only (rows over the time inside the steps).
        public var stepSamplesPerSecond: Double?
        public var allreduceShare: Double?
        /// The whole epoch: steps, evaluation and checkpoint (absent in runs from before it was recorded).
        public var wallSeconds: Double?
        public var stepSeconds: Double?, evaluationSeconds: Double?, checkpointSeconds: Double?
        public var worldSize: Int?
    }

    public struct Step {
        public var step: Int
        public var negELBO: Double?
        public var stepSamplesPerSecond: Double?
    }

    /// One record per epoch (a later record of the same epoch, from a resumed run, replaces an
    /// earlier one), in epoch order; steps likewise in step order.
    public private(set) var epochs: [Epoch] = []
    public private(set) var steps: [Step] = []
    /// Lines that parsed as records.
    public private(set) var records = 0
    /// 1-based numbers of the lines that are not JSON objects with a "kind".
    public private(set) var unreadableLines: [Int] = []
    /// The last line is unfinished (no newline) and unreadable: a run still writing it.
    public private(set) var unfinishedLastLine = false

    public init(parsing data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let endsWithNewline = text.hasSuffix("\n") || text.isEmpty
        if endsWithNewline, lines.last == "" { lines.removeLast() }
        var epochByNumber: [Int: Epoch] = [:], stepByNumber: [Int: Step] = [:]
        for (i, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let kind = object["kind"] as? String else {
                if i == lines.count - 1 && !endsWithNewline { unfinishedLastLine = true } else { unreadableLines.append(i + 1) }
                continue
            }
            records += 1
            func number(_ key: String) -> Double? {
                guard let n = object[key] as? NSNumber else { return nil }
                let v = n.doubleValue
                return v.isFinite ? v : nil
            }
            func integer(_ key: String) -> Int? { number(key).flatMap { $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil } }
            switch kind {
            case "epoch":
                guard let e = integer("epoch") else { unreadableLines.append(i + 1); continue }
                epochByNumber[e] = Epoch(
                    epoch: e, step: integer("step"),
                    trainNegELBO: number("train_neg_elbo"), trainRecon: number("train_recon"), trainKL: number("train_kl"),
                    testNegELBO: number("test_neg_elbo"), testRecon: number("test_recon"), testKL: number("test_kl"),
                    // Runs from before the split called the step throughput "samples_per_second".
                    stepSamplesPerSecond: number("step_samples_per_second") ?? number("samples_per_second"),
                    allreduceShare: number("allreduce_share"), wallSeconds: number("epoch_wall_seconds"),
                    stepSeconds: number("step_seconds"), evaluationSeconds: number("evaluation_seconds"),
                    checkpointSeconds: number("checkpoint_seconds"), worldSize: integer("world_size"))
            case "step":
                guard let s = integer("step") else { unreadableLines.append(i + 1); continue }
                stepByNumber[s] = Step(step: s, negELBO: number("neg_elbo"), stepSamplesPerSecond: number("step_samples_per_second"))
            default:
                break
            }
        }
        epochs = epochByNumber.keys.sorted().map { epochByNumber[$0]! }
        steps = stepByNumber.keys.sorted().map { stepByNumber[$0]! }
    }

    /// Reads `path`; a missing or unreadable file is an error naming it.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ExplainError("\(path): no metrics file there (a run directory has metrics.jsonl)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExplainError("\(path): cannot read the metrics file")
        }
        self.init(parsing: data)
    }

    /// One line about what was skipped, or nil.
    public var problems: String? {
        var parts: [String] = []
        if !unreadableLines.isEmpty {
            let shown = unreadableLines.prefix(5).map(String.init).joined(separator: ", ")
            parts.append("\(unreadableLines.count) unreadable line\(unreadableLines.count == 1 ? "" : "s") skipped (line\(unreadableLines.count == 1 ? "" : "s") \(shown)\(unreadableLines.count > 5 ? ", ..." : ""); expected one JSON object with a \"kind\" a line)")
        }
        if unfinishedLastLine { parts.append("the last line is unfinished (a run still writing it), skipped") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
