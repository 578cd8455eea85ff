#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 28x28 images generated from k known, independent, continuous factors, to check that a VAE
/// finds exactly k active units and that an attribution method points at the right pixels.
///
/// Factor j (0..<k) is the brightness, uniform in [0, 1), of a square in quadrant j (top-left,
/// top-right, bottom-left, bottom-right); squares beyond k are absent and nothing else varies or
/// is noisy. Each image is thus a linear function of its factors (up to rounding to bytes), which
/// a VAE captures with one latent unit per factor. Geometric factors (the position of a blob) were
/// tried first and are not suitable: a vanilla VAE (784-256-10, Bernoulli, Adam, 30 epochs)
/// encoded a single x position with two active units, because moving a shape traces a strongly
/// curved path through pixel space.
///
/// The squares are hard-edged by default (spec `edges=hard`, or no `edges`): exactly 8x8 pixels of
/// the factor's brightness (rows and columns 4...11 or 16...23) on zero, square j's full brightness
/// 1 - 0.2 j. Which pixels belong to a factor is then a yes-or-no fact that lies on whole cells of a
/// 4-pixel grid, which the attribution ground truth (`squareRegion`) needs; and the unequal
/// amplitudes give the data distinct principal directions, so the VAE's units line up with single
/// factors instead of any rotation of them.
///
/// `edges=soft` (`hardEdges: false`) is the first design, kept for the checkpoints and figures made
/// with it: soft-edged 10x10 squares, all at full brightness 1. It gave exactly k active units for
/// k = 1...4 with 10 or 32 latent units, but it cannot serve as attribution ground truth: a
/// 10-pixel square straddles 4-pixel cells, so a perfect segment-level attribution could put no
/// more than 100/256 of its mass inside the square, and four equal squares make every rotation of
/// the four units as good a code, so the units are mixtures of factors (LIME's share inside the
/// square measured 0.24-0.40 on it, against 0.81-0.91 on the hard squares).
///
/// Values are drawn per sample from SplitMix64 keyed by (seed, sample index), so sample i is the
/// same whatever `count` is, train and test splits are disjoint index ranges of one stream, and
/// factor j of sample i does not depend on k. Labels are factor 0 cut into 10 equal bins (0...9).
public enum SyntheticData {
    public static let maximumFactors = 4
    public static let factorNames = [
        "top-left brightness", "top-right brightness", "bottom-left brightness", "bottom-right brightness",
    ]
    public static let side = 28

    /// `count` images (samples `firstIndex ..< firstIndex + count` of the stream) with `factors`
    /// varying factors, 1...4. `count` must be at least 1.
    public static func make(count: Int, factors: Int, seed: UInt64, firstIndex: Int = 0, hardEdges: Bool = true) -> Dataset {
        precondition(count >= 1 && (1...maximumFactors).contains(factors),
                     "SyntheticData.make needs count >= 1 and factors in 1...\(maximumFactors)")
        let patterns = (0..<factors).map { squarePattern($0, hardEdges: hardEdges) }
        let (bytes, labels) = render(count: count, patterns: patterns) { i in
            let u = unitFactors(seed: seed, index: firstIndex + i)
            return (Array(u.prefix(factors)), Int32(min(9, Int(u[0] * 10))))
        }
        return Dataset(unchecked: "synthetic:k=\(factors),seed=\(seed)" + (hardEdges ? ",edges=hard" : ",edges=soft"), sampleShape: [side, side],
                       storage: .bytes(bytes), labels: labels)
    }

    /// `count` images of `clusters` (1...4) known, well-separated clusters: sample i belongs to
    /// cluster c, drawn uniformly from the same keyed stream as the factors, and shows only square c
    /// (soft edges) at a brightness uniform in [0.5, 1). Labels are the clusters. For checking that
    /// a mixture model recovers clusters: one continuous factor varies inside each.
    public static func makeClusters(count: Int, clusters: Int, seed: UInt64, firstIndex: Int = 0) -> Dataset {
        precondition(count >= 1 && (1...maximumFactors).contains(clusters),
                     "SyntheticData.makeClusters needs count >= 1 and clusters in 1...\(maximumFactors)")
        let patterns = (0..<clusters).map { squarePattern($0, hardEdges: false) }
        let (bytes, labels) = render(count: count, patterns: patterns) { i in
            let u = unitFactors(seed: seed, index: firstIndex + i)
            let c = min(clusters - 1, Int(u[0] * Float(clusters)))
            var amounts = [Float](repeating: 0, count: clusters)
            amounts[c] = 0.5 + 0.5 * u[1]
            return (amounts, Int32(c))
        }
        return Dataset(unchecked: "synthetic:clusters=\(clusters),seed=\(seed)", sampleShape: [side, side],
                       storage: .bytes(bytes), labels: labels)
    }

    /// Image i is the sum of `patterns` weighted by the first of `sample(i)`, as bytes (rounded,
    /// capped at 255); its label is the second. A cluster image is the sum with every weight but
    /// its own 0, which adds only exact zeros, so both generators share one renderer.
    static func render(count: Int, patterns: [[Float]],
                       sample: (Int) -> (amounts: [Float], label: Int32)) -> (bytes: [UInt8], labels: [Int32]) {
        let pixels = side * side
        var labels = [Int32](repeating: 0, count: count)
        var bytes = [UInt8](repeating: 0, count: count * pixels)
        bytes.withUnsafeMutableBufferPointer { out in
            for i in 0..<count {
                let (amounts, label) = sample(i)
                labels[i] = label
                let image = out.baseAddress! + i * pixels
                for p in 0..<pixels {
                    var value: Float = 0
                    for (j, a) in amounts.enumerated() { value += a * patterns[j][p] }
                    image[p] = UInt8(min(255, (value * 255).rounded()))
                }
            }
        }
        return (bytes, labels)
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

    /// Square j at full brightness, centred in its quadrant (7.5 or 19.5 px): with `hardEdges`
    /// exactly the 8x8 pixels within 4 px of the centre at 1 - 0.2 j; else half-width 5 px at 1,
    /// edges a logistic about a pixel wide so brightness falls off smoothly.
    static func squarePattern(_ j: Int, hardEdges: Bool) -> [Float] {
        let cx: Float = j % 2 == 0 ? 7.5 : 19.5
        let cy: Float = j < 2 ? 7.5 : 19.5
        func edge(_ distance: Float) -> Float {
            hardEdges ? (abs(distance) < 4 ? 1 : 0) : 1 / (1 + expf((abs(distance) - 5) / 0.7))
        }
        let amplitude: Float = hardEdges ? 1 - 0.2 * Float(j) : 1
        var pattern = [Float](repeating: 0, count: side * side)
        for r in 0..<side {
            for c in 0..<side { pattern[r * side + c] = amplitude * edge(Float(c) - cx) * edge(Float(r) - cy) }
        }
        return pattern
    }

    /// The pixels of square j (row-major, side x side): where its pattern is at least half its full
    /// brightness. Exactly the 8x8 square with `hardEdges`; for the soft squares the 10x10 pixels
    /// inside the logistic edges' midpoints, less the four corners where the edges multiply to below half.
    public static func squareRegion(_ j: Int, hardEdges: Bool = true) -> [Bool] {
        let pattern = squarePattern(j, hardEdges: hardEdges)
        let top = pattern.max() ?? 1
        return pattern.map { $0 >= 0.5 * top }
    }
}
