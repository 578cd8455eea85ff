/// A failure of the explanation export. `description` is one line naming the file or option,
/// what was expected and what was found, so the CLI can print it as is.
public struct ExplainError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
