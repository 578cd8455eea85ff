import Linalg

/// How many floats a model's two arenas hold: what memory provided from outside must have.
public struct ArenaSizes: Equatable, Sendable {
    public let parameters: Int
    /// The gradients followed by `VAEModel.gradientTailCount` slots for the step's loss sums.
    public let gradients: Int
}

/// A model's parameter and gradient arenas in memory the caller chose, of `ArenaSizes`.
public struct ArenaStorage {
    public let parameters: FloatBuffer
    public let gradients: FloatBuffer

    public init(parameters: FloatBuffer, gradients: FloatBuffer) {
        self.parameters = parameters
        self.gradients = gradients
    }
}
