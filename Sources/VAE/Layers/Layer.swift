import Linalg

/// The per-sample shape of the tensor between two layers, and how a batch of it is laid out:
/// flat tensors `[rows, count]` (a sample a row, as the data and dense layers have them), images
/// channel-major `[channels, rows, height, width]` (every sample's pixels of one channel in one
/// run, so a convolution over the whole batch is one sgemm whose rows are the channels).
public enum TensorShape: Equatable, Hashable, CustomStringConvertible, Sendable {
    case flat(Int)
    case image(channels: Int, height: Int, width: Int)

    public var count: Int {
        switch self {
        case .flat(let n): return n
        case .image(let c, let h, let w): return c * h * w
        }
    }

    public var description: String {
        switch self {
        case .flat(let n): return "\(n)"
        case .image(let c, let h, let w): return "\(c)x\(h)x\(w)"
        }
    }
}

/// How a parameter tensor is drawn at initialization.
public enum Initialization: Equatable, Sendable {
    /// Uniform in ±1/sqrt(fanIn): PyTorch's default for nn.Linear and nn.Conv2d weights and biases.
    case uniform(fanIn: Int)
    case zeros
    /// Every value the same (a softplus-parameterized σ that starts small, a prior's log-variance).
    case constant(Float)
    /// Normal with mean 0 and this standard deviation (a learned prior's component means).
    case normal(std: Float)
}

/// One tensor a layer owns, named by structure (`encoder.0.weight`), in PyTorch's shape
/// convention (`[out, in]`, `[out, in, kh, kw]`, transposed convolutions `[in, out, kh, kw]`).
public struct ParameterDeclaration: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let initialization: Initialization
    /// Whether the tensor takes a key of the initialization RNG (its place among the keyed
    /// tensors). A zero tensor a variant adds to another model's layout draws nothing and takes
    /// none, so every tensor the two share starts from the same values.
    public var takesInitKey = true
    public var count: Int { shape.reduce(1, *) }
}

/// GEMM floating-point operations per sample of one layer, counted from the shapes it issues.
public struct GemmFlops: Equatable, Sendable {
    public var forward = 0
    public var weightGradient = 0
    public var inputGradient = 0
    public init(forward: Int = 0, weightGradient: Int = 0, inputGradient: Int = 0) {
        self.forward = forward
        self.weightGradient = weightGradient
        self.inputGradient = inputGradient
    }
}

/// What a layer is before any buffer exists: shapes, tensors, FLOP, and the buffers it will need,
/// so the owner of a pass can size one plan and bind every pointer once (`bind`).
protocol LayerDefinition: CustomStringConvertible {
    /// Structural prefix of its tensors (`encoder.0`), or a display name for layers without any.
    var name: String { get }
    var input: TensorShape { get }
    var output: TensorShape { get }
    /// Applied after the bias in forward, its derivative first in backward; nil: linear.
    var activation: Activation? { get }
    /// In arena order; `bind` receives their offsets in the same order.
    var parameters: [ParameterDeclaration] { get }
    var gemmFlopsPerSample: GemmFlops { get }
    /// Floats per row of the scratch shared by every layer of a stack (unfolded gradients).
    var scratchPerRow: Int { get }
    func bind(_ binding: inout LayerBinding) -> any Layer
}

/// Everything a layer's pointers come from, handed to `bind` once per owner (training workspace,
/// evaluator) for at most `rows` rows.
struct LayerBinding {
    let rows: Int
    /// The layer's input: the caller's rows or the output of the layer below.
    let input: UnsafeMutablePointer<Float>
    let parameters: UnsafeMutablePointer<Float>
    let gradients: UnsafeMutablePointer<Float>
    /// Offsets of the layer's declared tensors in the arenas, in declaration order.
    let offsets: [Int]
    /// The stack's shared scratch, at least `scratchPerRow · rows` floats.
    let scratch: UnsafeMutablePointer<Float>
    /// Owns the buffers the layer allocates (its output and what it keeps for backward).
    var arena: BufferArena
    /// Where a Bayesian layer's noise and mode come from (the stack's one context); nil: none.
    var weightNoise: WeightNoise? = nil
}

/// A layer bound to its buffers: forward and backward allocate nothing.
protocol Layer: AnyObject {
    /// Its output for the rows of the last forward, laid out as its output shape says.
    var output: UnsafeMutablePointer<Float> { get }
    /// Where the gradient of a per-column bias lives (a dense layer's), so a loss kernel that
    /// writes d/d(output) can sum the bias gradient in the same pass; nil when the bias is not per
    /// column of the output.
    var columnBiasGradient: UnsafeMutablePointer<Float>? { get }
    /// Reads the bound input, writes `output`. `productsOnly`: the GEMMs alone (benchmarks).
    func forward(rows: Int, productsOnly: Bool)
    /// `gradOutput` holds d/d(output) for `rows` rows and may be overwritten. When
    /// `biasGradientDone` it already is the gradient w.r.t. the pre-activation and the bias gradient
    /// is written (a fused loss pass above). Writes the weight and bias gradients when
    /// `parameterGradients` and d/d(input) into `gradInput` when given.
    func backward(rows: Int, gradOutput: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>?,
                  parameterGradients: Bool, biasGradientDone: Bool, productsOnly: Bool)
}
