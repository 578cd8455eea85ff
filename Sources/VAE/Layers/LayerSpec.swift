/// One entry of an `--encoder` / `--decoder` list, Codable as its spec text (`conv:32k4s2`).
///
/// Every entry names a tensor of the model and the layer on its side of it: in the encoder the
/// layer that produces it (`conv:32k4s2`: a 32-channel image made by a 4x4 convolution of stride
/// 2), in the decoder, read from z towards the output, the layer that consumes it
/// (`convT:32k4s2`: a 32-channel image that a 4x4 transposed convolution of stride 2 turns into the
/// next tensor or the output). So a decoder list is the encoder's reversed, entry for entry.
public enum LayerSpec: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    case dense(Int)
    /// padding nil: (kernel − 1) / 2, which keeps the side for stride 1 and halves it for stride 2
    /// with even kernels.
    case conv(channels: Int, kernel: Int, stride: Int, padding: Int?)
    /// outputPadding nil: whatever makes the output the shape the next tensor needs.
    case convTranspose(channels: Int, kernel: Int, stride: Int, padding: Int?, outputPadding: Int?)
    case maxPool(kernel: Int, stride: Int, padding: Int)
    /// Bayesian forms (`bdense:256`, `bconv:32k4s2`, `bconvT:32k4s2`): a Gaussian over the
    /// layer's weights.
    case bayesianDense(Int)
    case bayesianConv(channels: Int, kernel: Int, stride: Int, padding: Int?)
    case bayesianConvTranspose(channels: Int, kernel: Int, stride: Int, padding: Int?, outputPadding: Int?)

    /// The width of a dense entry, Bayesian or not.
    public var denseWidth: Int? {
        switch self {
        case .dense(let n), .bayesianDense(let n): return n
        default: return nil
        }
    }

    /// The fields of a transposed-convolution entry, Bayesian or not.
    public var transposedConvolution: (channels: Int, kernel: Int, stride: Int, padding: Int?, outputPadding: Int?)? {
        switch self {
        case .convTranspose(let c, let k, let s, let p, let o), .bayesianConvTranspose(let c, let k, let s, let p, let o):
            return (c, k, s, p, o)
        default: return nil
        }
    }

    public var isBayesian: Bool {
        switch self {
        case .bayesianDense, .bayesianConv, .bayesianConvTranspose: return true
        default: return false
        }
    }

    /// Every number the entry holds (size checks).
    public var sizes: [Int] {
        switch self {
        case .dense(let n), .bayesianDense(let n): return [n]
        case .conv(let c, let k, let s, let p), .bayesianConv(let c, let k, let s, let p): return [c, k, s, p ?? 0]
        case .convTranspose(let c, let k, let s, let p, let o), .bayesianConvTranspose(let c, let k, let s, let p, let o):
            return [c, k, s, p ?? 0, o ?? 0]
        case .maxPool(let k, let s, let p): return [k, s, p]
        }
    }

    public var description: String {
        switch self {
        case .dense(let n): return "dense:\(n)"
        case .conv(let c, let k, let s, let p):
            return "conv:\(c)k\(k)s\(s)" + (p.map { "p\($0)" } ?? "")
        case .convTranspose(let c, let k, let s, let p, let op), .bayesianConvTranspose(let c, let k, let s, let p, let op):
            return (isBayesian ? "bconvT:" : "convT:") + "\(c)k\(k)s\(s)" + (p.map { "p\($0)" } ?? "")
                + (op.map { "o\($0)" } ?? "")
        case .maxPool(let k, let s, let p): return "pool:k\(k)s\(s)" + (p == 0 ? "" : "p\(p)")
        case .bayesianDense(let n): return "bdense:\(n)"
        case .bayesianConv(let c, let k, let s, let p):
            return "bconv:\(c)k\(k)s\(s)" + (p.map { "p\($0)" } ?? "")
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try LayerSpec(parsing: text, flag: "architecture")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
