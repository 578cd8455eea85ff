import Datasets
import Foundation

/// What a switched-off segment is replaced with.
public enum LIMEBaseline: Equatable, CustomStringConvertible {
    /// The evaluation data's mean sample: a removed part looks like an average one, which keeps
    /// perturbed inputs nearer the data than a flat colour does.
    case mean
    /// The sample blurred by a Gaussian of this standard deviation in pixels (images only):
    /// removes detail but keeps the local brightness.
    case blur(Float)
    /// One value everywhere: for images a grey level of the pictures' scale (0 black, 1 white),
    /// for tables the value itself.
    case constant(Float)

    public static let defaultBlurSigma: Float = 2

    /// `mean`, `blur`, `blur:SIGMA` or `constant:V`.
    public static func parse(_ text: String) throws -> LIMEBaseline {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let bad = ExplainError("--lime-baseline: expected mean, blur, blur:SIGMA (pixels, > 0) or constant:V (a finite number), found '\(text)'")
        switch (parts[0], parts.count) {
        case ("mean", 1): return .mean
        case ("blur", 1): return .blur(defaultBlurSigma)
        case ("blur", 2):
            guard let s = Float(parts[1]), s.isFinite, s > 0, s <= 100 else { throw bad }
            return .blur(s)
        case ("constant", 2):
            guard let v = Float(parts[1]), v.isFinite else { throw bad }
            return .constant(v)
        default: throw bad
        }
    }

    public var description: String {
        switch self {
        case .mean: return "mean"
        case .blur(let s): return "blur:\(s)"
        case .constant(let v): return "constant:\(v)"
        }
    }

    /// What the report says about it.
    var explanation: String {
        switch self {
        case .mean: return "the evaluation data's mean sample"
        case .blur(let s): return "the sample blurred by a Gaussian of \(s) px"
        case .constant(let v): return "the constant \(v)"
        }
    }

    /// The evaluation data's mean sample, summed in Double in sample order, so every rank that
    /// computes it gets the same bits.
    static func meanSample(_ dataset: Dataset) -> [Float] {
        let D = dataset.dimension
        var sum = [Double](repeating: 0, count: D)
        var row = [Float](repeating: 0, count: D)
        for i in 0..<dataset.count {
            dataset.copySample(i, into: &row)
            for p in 0..<D { sum[p] += Double(row[p]) }
        }
        return sum.map { Float($0 / Double(max(dataset.count, 1))) }
    }

    /// The baseline for sample `x`; `mean` is the data's mean sample, computed once by the caller.
    func values(for x: [Float], shape: ImageShape?, mean: [Float]) -> [Float] {
        switch self {
        case .mean: return mean
        case .constant(let v):
            return [Float](repeating: shape.map { $0.value(atGrey: v) } ?? v, count: x.count)
        case .blur(let sigma):
            guard let shape else { return mean }
            return Self.gaussianBlur(x, height: shape.height, width: shape.width, sigma: sigma)
        }
    }

    /// Separable Gaussian blur, radius 3 sigma, edges extended by their nearest pixel.
    static func gaussianBlur(_ x: [Float], height: Int, width: Int, sigma: Float) -> [Float] {
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * Double(sigma * sigma)))) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        var rows = [Float](repeating: 0, count: x.count), out = rows
        for y in 0..<height {
            for c in 0..<width {
                var s: Float = 0
                for (k, w) in kernel.enumerated() { s += w * x[y * width + min(width - 1, max(0, c + k - radius))] }
                rows[y * width + c] = s
            }
        }
        for y in 0..<height {
            for c in 0..<width {
                var s: Float = 0
                for (k, w) in kernel.enumerated() { s += w * rows[min(height - 1, max(0, y + k - radius)) * width + c] }
                out[y * width + c] = s
            }
        }
        return out
    }
}
