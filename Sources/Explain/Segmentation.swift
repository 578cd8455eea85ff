/// LIME's interpretable features: a partition of a sample's values into segments, each switched
/// on (kept) or off (replaced by the baseline) as a whole.
public struct Segmentation: Equatable {
    /// Segment of every value of the sample (pixel, or table column), in 0..<count.
    public let labels: [Int32]
    public let count: Int

    public init(labels: [Int32], count: Int) {
        self.labels = labels
        self.count = count
    }

    /// Values of the sample in each segment.
    public var sizes: [Int] {
        var s = [Int](repeating: 0, count: count)
        for l in labels { s[Int(l)] += 1 }
        return s
    }

    /// Square cells of `cell` x `cell` pixels, row by row; the last row and column of cells are
    /// narrower when the side is not a multiple of `cell`.
    public static func grid(height: Int, width: Int, cell: Int) -> Segmentation {
        let across = (width + cell - 1) / cell, down = (height + cell - 1) / cell
        var labels = [Int32](repeating: 0, count: height * width)
        for y in 0..<height {
            for x in 0..<width { labels[y * width + x] = Int32((y / cell) * across + x / cell) }
        }
        return Segmentation(labels: labels, count: across * down)
    }

    /// Tables: every column its own segment.
    public static func features(_ dimension: Int) -> Segmentation {
        Segmentation(labels: (0..<dimension).map(Int32.init), count: dimension)
    }

    /// Labels renumbered 0..<count in order of first appearance, so that any labelling becomes a
    /// segmentation whose numbering does not depend on how it was found.
    static func compacting(_ raw: [Int]) -> Segmentation {
        var map: [Int: Int32] = [:]
        var labels = [Int32](repeating: 0, count: raw.count)
        for (i, r) in raw.enumerated() {
            if let m = map[r] { labels[i] = m } else { let m = Int32(map.count); map[r] = m; labels[i] = m }
        }
        return Segmentation(labels: labels, count: map.count)
    }
}

/// How `--lime-segments` divides a sample.
public enum SegmentationMethod: Equatable, CustomStringConvertible {
    /// Square cells of this many pixels a side.
    case grid(Int)
    /// About this many SLIC superpixels.
    case slic(Int)

    /// `grid:4` or `slic:100`.
    public static func parse(_ text: String) throws -> SegmentationMethod {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let n = Int(parts[1]), n > 0, parts[0] == "grid" || parts[0] == "slic" else {
            throw ExplainError("--lime-segments: expected grid:N (cells of N x N pixels) or slic:N (about N superpixels) with N a positive whole number, found '\(text)'")
        }
        return parts[0] == "grid" ? .grid(n) : .slic(n)
    }

    public var description: String {
        switch self {
        case .grid(let n): return "grid:\(n)"
        case .slic(let n): return "slic:\(n)"
        }
    }

    /// The segmentation of one sample: images by this method, tables one column a segment.
    func segment(_ x: ArraySlice<Float>, shape: ImageShape?) -> Segmentation {
        guard let shape else { return .features(x.count) }
        switch self {
        case .grid(let cell): return .grid(height: shape.height, width: shape.width, cell: cell)
        case .slic(let n): return SLIC.segment(Array(x), height: shape.height, width: shape.width, segments: n,
                                              valueSpan: Float(shape.white - shape.black))
        }
    }

    /// The most segments a sample can get, to check the perturbation count against before any work.
    func maximumSegments(shape: ImageShape?, dimension: Int) -> Int {
        guard let shape else { return dimension }
        switch self {
        case .grid(let cell):
            return ((shape.width + cell - 1) / cell) * ((shape.height + cell - 1) / cell)
        case .slic(let n): return n
        }
    }
}
