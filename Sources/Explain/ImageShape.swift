import Datasets

/// Height and width when the samples are single-channel pictures ([h, w] or [h, w, 1]); tables
/// have none, and then only the arrays, tables and charts are produced.
struct ImageShape {
    let height: Int
    let width: Int
    var pixels: Int { height * width }

    init?(sampleShape: [Int]) {
        let dims = sampleShape.count == 3 && sampleShape[2] == 1 ? Array(sampleShape.prefix(2)) : sampleShape
        guard dims.count == 2, dims[0] > 0, dims[1] > 0 else { return nil }
        height = dims[0]; width = dims[1]
    }

    /// A grey tile from a row of model-space values (clamped to [0, 1]).
    func tile(_ values: ArraySlice<Float>, upscale: Int) -> RasterImage {
        let bytes = values.prefix(pixels).map(unitToByte)
        return RasterImage(unchecked: width, height, 1, bytes).upscaled(by: upscale)
    }

    func divergingTile(_ values: ArraySlice<Float>, upscale: Int, scale: Float? = nil) -> RasterImage {
        let v = Array(values.prefix(pixels))
        let img = (try? RasterImage.diverging(v, width: width, height: height, scale: scale))
            ?? RasterImage(width: width, height: height, fill: RGB(255, 255, 255))
        return img.upscaled(by: upscale)
    }
}

extension Dataset {
    /// Samples `indices` as model inputs, row-major.
    func rows(_ indices: [Int]) -> [Float] {
        var x = [Float](repeating: 0, count: indices.count * dimension)
        x.withUnsafeMutableBufferPointer { p in
            for (r, i) in indices.enumerated() { copySample(i, into: p.baseAddress! + r * dimension) }
        }
        return x
    }
}
