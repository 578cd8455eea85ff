/// `--lr -1` reads to the argument parser as the option `--lr` followed by another option `-1`,
/// so it used to fail with "Missing value for '--lr'", which hides what was wrong. A negative
/// number after a long option is attached to it (`--lr=-1`), so the option gets its value and
/// its own check says what it expects.
enum NegativeValues {
    static func attached(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { out += arguments[i...]; break }
            if a.hasPrefix("--"), a.count > 2, !a.contains("="), i + 1 < arguments.count, looksNegative(arguments[i + 1]) {
                out.append(a + "=" + arguments[i + 1])
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    /// "-1", "-0.5", "-.5", "-1e-3", "-inf", "-512,256": what no option name looks like.
    static func looksNegative(_ token: String) -> Bool {
        guard token.hasPrefix("-"), token.count >= 2 else { return false }
        let second = token[token.index(after: token.startIndex)]
        return second.isNumber || second == "." || Double(token) != nil
    }
}
