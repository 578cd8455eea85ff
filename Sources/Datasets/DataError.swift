import Foundation

/// A problem with input data, said in one line: the file (or dataset spec) first, then what was
/// expected and what was found. The command-line tool prints `description` as is.
public struct DataError: Error, CustomStringConvertible, LocalizedError {
    /// The file path or dataset spec the problem is about.
    public let source: String
    /// What is wrong, without the source.
    public let problem: String

    public init(_ source: String, _ problem: String) {
        self.source = source
        self.problem = problem
    }

    public var description: String {
        // Paths and values quoted from files may carry control characters; the contract is one line.
        let text = "\(source): \(problem)"
        return String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }

    public var errorDescription: String? { description }
}

/// Sizes that come from file headers are multiplied with overflow checks, so a header claiming
/// 2^40 samples becomes an error instead of a wrapped count or a huge allocation.
enum CheckedSize {
    static func product(_ factors: [Int], source: String, what: String) throws -> Int {
        var total = 1
        for f in factors {
            guard f >= 0 else { throw DataError(source, "\(what): negative size \(f)") }
            let (p, overflow) = total.multipliedReportingOverflow(by: f)
            guard !overflow else {
                throw DataError(source, "\(what) \(factors.map(String.init).joined(separator: "x")) is too large to address")
            }
            total = p
        }
        return total
    }
}

extension Array where Element == Int {
    /// "60000x28x28", for messages.
    var shapeText: String { isEmpty ? "()" : map(String.init).joined(separator: "x") }
}
