/// A checkpoint that cannot be written or used: one line naming the file and the problem.
public struct CheckpointError: Error, CustomStringConvertible {
    public let file: String
    public let problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
