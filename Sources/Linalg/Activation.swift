import Foundation

/// Hidden-layer nonlinearities. Codable as their case names ("relu", "leakyRelu", "tanh", "elu").
public enum Activation: String, Codable, CaseIterable, CustomStringConvertible {
    case relu, leakyRelu, tanh, elu

    /// Negative-side slope of LeakyReLU (PyTorch's default).
    public static let leakySlope: Float = 0.01

    public var description: String { rawValue }

    /// Accepts the case names and the common spellings "leaky-relu", "leaky_relu" (any case).
    public init?(parsing text: String) {
        switch text.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "") {
        case "relu": self = .relu
        case "leakyrelu": self = .leakyRelu
        case "tanh": self = .tanh
        case "elu": self = .elu
        default: return nil
        }
    }

    /// Decodes the spellings `init(parsing:)` accepts; anything else is a one-line error.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let value = Activation(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "expected relu, leakyRelu, tanh or elu, found \"\(text)\"")
        }
        self = value
    }
}
