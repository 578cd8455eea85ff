import Datasets

/// Height and width when the samples are single-channel pictures ([h, w] or [h, w, 1]); tables
/// have none, and then only the arrays, tables and charts are produced.
struct ImageShape {
    let height: Int
    let width: Int
    /// The values drawn black and white: [0, 1], widened to cover the data's values. Pixel data
    /// (and anything a Bernoulli model takes) is in [0, 1] and keeps that scale; real-valued data
    /// for a Gaussian model (0...255, standardized, ...) would otherwise be clipped to white and
    /// black. Decoder means share the scale, so a reconstruction compares with its original.
    let black: Double
    let white: Double
    var pixels: Int { height * width }

    init?(sampleShape: [Int], values: ClosedRange<Float> = 0...1) {
        let dims = sampleShape.count == 3 && sampleShape[2] == 1 ? Array(sampleShape.prefix(2)) : sampleShape
        guard dims.count == 2, dims[0] > 0, dims[1] > 0 else { return nil }
        height = dims[0]; width = dims[1]
        // In Double: the width of a range of finite Floats can overflow Float.
        black = min(0, Double(values.lowerBound))
        white = max(1, Double(values.upperBound))
    }

    /// A value of the data at grey level `level` (0 black, 1 white) of this scale.
    func value(atGrey level: Float) -> Float {
        Float(black + Double(level) * (white - black))
    }

    /// A grey tile from a row of model-space values (clamped to the scale).
    func tile(_ values: ArraySlice<Float>, upscale: Int) -> RasterImage {
        let (black, span) = (self.black, white - black)
        let bytes = values.prefix(pixels).map { unitToByte(Float((Double($0) - black) / span)) }
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
