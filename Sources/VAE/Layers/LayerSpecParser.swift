extension LayerSpec {
    static let grammar = "dense:<width>, conv:<channels>k<kernel>s<stride>[p<padding>], convT:<channels>k<kernel>s<stride>[p<padding>][o<output padding>], pool:k<kernel>s<stride>[p<padding>], or the Bayesian bdense:<width>, bconv:<channels>k<kernel>s<stride>[p<padding>] and bconvT:<channels>k<kernel>s<stride>[p<padding>][o<output padding>]"

    /// Parses one entry; `flag` names where it came from in the error.
    public init(parsing raw: String, flag: String) throws {
        let text = raw.trimmingCharacters(in: .whitespaces)
        func bad(_ why: String) -> ConfigError {
            ConfigError("--\(flag) \"\(text)\": \(why); expected \(LayerSpec.grammar)")
        }
        guard let colon = text.firstIndex(of: ":") else { throw bad("no kind before ':'") }
        let kind = text[..<colon].lowercased()
        let rest = String(text[text.index(after: colon)...])
        // "<n>" then letter-number pairs, e.g. "32k4s2p1".
        func fields(_ s: String, leading: Bool) throws -> (Int?, [Character: Int]) {
            var lead: Int?
            var out: [Character: Int] = [:]
            var i = s.startIndex
            func number() throws -> Int {
                let start = i
                while i < s.endIndex, s[i].isASCII, s[i].isNumber { i = s.index(after: i) }
                guard start < i, let v = Int(s[start..<i]), v <= 1 << 24 else { throw bad("expected a number at \"\(s[start...])\"") }
                return v
            }
            if leading { lead = try number() }
            while i < s.endIndex {
                let key = Character(s[i].lowercased())
                i = s.index(after: i)
                guard out[key] == nil else { throw bad("'\(key)' given twice") }
                out[key] = try number()
            }
            return (lead, out)
        }
        func require(_ f: [Character: Int], _ allowed: Set<Character>, _ needed: Set<Character>) throws {
            if let extra = f.keys.first(where: { !allowed.contains($0) }) { throw bad("unknown field '\(extra)'") }
            if let missing = needed.first(where: { f[$0] == nil }) {
                throw bad(missing == "k" ? "no kernel size (k)" : "no stride (s)")
            }
        }
        switch kind {
        case "dense", "linear", "fc", "bdense":
            let (n, f) = try fields(rest, leading: true)
            guard f.isEmpty else { throw bad("\(kind) takes only a width") }
            guard let n, n >= 1 else { throw bad("width must be >= 1") }
            self = kind == "bdense" ? .bayesianDense(n) : .dense(n)
        case "conv", "bconv":
            let (c, f) = try fields(rest, leading: true)
            try require(f, ["k", "s", "p"], ["k", "s"])
            guard let c, c >= 1 else { throw bad("channels must be >= 1") }
            guard f["k"]! >= 1, f["s"]! >= 1 else { throw bad("kernel and stride must be >= 1") }
            self = kind == "bconv" ? .bayesianConv(channels: c, kernel: f["k"]!, stride: f["s"]!, padding: f["p"])
                : .conv(channels: c, kernel: f["k"]!, stride: f["s"]!, padding: f["p"])
        case "convt", "deconv", "bconvt":
            let (c, f) = try fields(rest, leading: true)
            try require(f, ["k", "s", "p", "o"], ["k", "s"])
            guard let c, c >= 1 else { throw bad("channels must be >= 1") }
            guard f["k"]! >= 1, f["s"]! >= 1 else { throw bad("kernel and stride must be >= 1") }
            if let o = f["o"], o >= f["s"]! { throw bad("output padding \(o) must be smaller than the stride \(f["s"]!)") }
            self = kind == "bconvt"
                ? .bayesianConvTranspose(channels: c, kernel: f["k"]!, stride: f["s"]!, padding: f["p"], outputPadding: f["o"])
                : .convTranspose(channels: c, kernel: f["k"]!, stride: f["s"]!, padding: f["p"], outputPadding: f["o"])
        case "pool", "maxpool":
            let (_, f) = try fields(rest, leading: false)
            try require(f, ["k", "s", "p"], ["k", "s"])
            guard f["k"]! >= 1, f["s"]! >= 1 else { throw bad("kernel and stride must be >= 1") }
            if let p = f["p"], 2 * p > f["k"]! { throw bad("padding \(p) must be at most half the kernel \(f["k"]!)") }
            self = .maxPool(kernel: f["k"]!, stride: f["s"]!, padding: f["p"] ?? 0)
        default:
            throw bad("unknown layer kind \"\(kind)\"")
        }
    }

    /// A comma-separated list; the empty string is no layers.
    public static func parseList(_ text: String, flag: String) throws -> [LayerSpec] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 && parts[0].trimmingCharacters(in: .whitespaces).isEmpty { return [] }
        return try parts.map { try LayerSpec(parsing: $0, flag: flag) }
    }

    public static func listDescription(_ specs: [LayerSpec]) -> String { specs.map(\.description).joined(separator: ",") }
}

import Foundation
