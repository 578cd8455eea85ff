/// Every failure of this module: one line naming the file (or the writer) and what is wrong.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file path, the `source` given to `parse`, or "SafeTensorsWriter".
    public let file: String
    /// What was expected and what was found, without the file name.
    public let problem: String

    public init(file: String, problem: String) {
        self.file = file
        // A name or value quoted into the message must not break it over several lines.
        self.problem = problem.replacingNewlines()
    }

    public var description: String { "\(file): \(problem)" }
}

extension String {
    func replacingNewlines() -> String {
        guard contains(where: { $0.isNewline }) else { return self }
        return String(map { $0.isNewline ? " " : $0 })
    }

    /// Quoted for an error message, shortened so a hostile 100 MB name cannot flood the terminal.
    var quotedForMessage: String {
        let limit = 80
        let body = count > limit ? String(prefix(limit)) + "…" : self
        return "'" + body.replacingNewlines() + "'"
    }
}
