#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 28x28 images generated from k known, independent, continuous factors, to check that a VAE
/// finds exactly k active units.
///
/// Each image is one soft-edged white ellipse on black. Factor values are uniform in [0, 1) and
/// drawn per sample from SplitMix64 keyed by (seed, sample index), so sample i is the same
/// whatever `count` is and train and test splits are disjoint index ranges of one stream:
///
/// | factor | meaning | range |
/// | --- | --- | --- |
/// | 0 | x of the centre | 8 ... 20 px |
/// | 1 | y of the centre | 8 ... 20 px |
/// | 2 | radius (geometric mean of the semi-axes) | 3 ... 6 px |
/// | 3 | aspect, width / height, log-uniform | 0.6 ... 1/0.6 |
///
/// Factors beyond k stay at the middle of the image, radius 4.5 and aspect 1. Each factor moves
/// many pixels between dark and bright, so all are worth encoding; nothing else varies. Labels
/// are factor 0 cut into 10 equal bins (0...9).
public enum SyntheticData {
    public static let maximumFactors = 4
    public static let factorNames = ["x position", "y position", "radius", "aspect"]
    public static let side = 28

    /// `count` images (samples `firstIndex ..< firstIndex + count` of the stream) with `factors`
    /// varying factors, 1...4. `count` must be at least 1.
    public static func make(count: Int, factors: Int, seed: UInt64, firstIndex: Int = 0) -> Dataset {
        precondition(count >= 1 && (1...maximumFactors).contains(factors),
                     "SyntheticData.make needs count >= 1 and factors in 1...\(maximumFactors)")
        let pixels = side * side
        var labels = [Int32](repeating: 0, count: count)
        var bytes = [UInt8](repeating: 0, count: count * pixels)
        bytes.withUnsafeMutableBufferPointer { out in
            var column = [Float](repeating: 0, count: side)
            for i in 0..<count {
                let u = unitFactors(seed: seed, index: firstIndex + i)
                labels[i] = Int32(min(9, Int(u[0] * 10)))
                render(parameters(u, factors: factors), into: out.baseAddress! + i * pixels, scratch: &column)
            }
        }
        return Dataset(unchecked: "synthetic:k=\(factors),seed=\(seed)", sampleShape: [side, side],
                       storage: .bytes(bytes), labels: labels)
    }

    /// The factor values in [0, 1) behind `make` with the same arguments: count x factors, row-major.
    public static func factors(count: Int, factors: Int, seed: UInt64, firstIndex: Int = 0) -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(max(0, count * factors))
        for i in 0..<max(0, count) {
            values += unitFactors(seed: seed, index: firstIndex + i).prefix(factors)
        }
        return values
    }

    /// All four draws are made whatever k is, so factor j of sample i never depends on k.
    static func unitFactors(seed: UInt64, index: Int) -> [Float] {
        var random = SplitMix64(keys: seed, 0x5359_4e54 /* "SYNT" */, UInt64(bitPattern: Int64(index)))
        return (0..<maximumFactors).map { _ in random.nextUnitFloat() }
    }

    struct Ellipse {
        var cx: Float, cy: Float, rx: Float, ry: Float
    }

    static func parameters(_ u: [Float], factors k: Int) -> Ellipse {
        let cx: Float = k > 0 ? 8 + 12 * u[0] : 13.5
        let cy: Float = k > 1 ? 8 + 12 * u[1] : 13.5
        let radius: Float = k > 2 ? 3 + 3 * u[2] : 4.5
        let logAspect: Float = k > 3 ? logf(0.6) * (1 - 2 * u[3]) : 0
        let stretch = expf(logAspect / 2)
        return Ellipse(cx: cx, cy: cy, rx: radius * stretch, ry: radius / stretch)
    }

    /// Brightness is a logistic of the distance to the ellipse's edge, about one pixel wide, so
    /// the images change smoothly with every factor.
    static func render(_ e: Ellipse, into out: UnsafeMutablePointer<UInt8>, scratch dx2: inout [Float]) {
        for c in 0..<side {
            let d = (Float(c) - e.cx) / e.rx
            dx2[c] = d * d
        }
        let edgeScale = (e.rx * e.ry).squareRoot() / 0.6
        for r in 0..<side {
            let dy = (Float(r) - e.cy) / e.ry
            let dy2 = dy * dy
            for c in 0..<side {
                let distance = (dx2[c] + dy2).squareRoot()
                let value = 1 / (1 + expf((distance - 1) * edgeScale))
                out[r * side + c] = UInt8(min(255, (value * 255).rounded()))
            }
        }
    }
}
