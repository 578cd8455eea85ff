/// The sliding window of a 2-D convolution over one image shape: what im2col unfolds and col2im
/// folds back. Output size follows PyTorch: floor((in + 2·padding − kernel) / stride) + 1.
public struct ConvGeometry: Equatable, Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int
    public let outHeight: Int
    public let outWidth: Int

    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        self.init(channels: channels, height: height, width: width, kernelHeight: kernel, kernelWidth: kernel,
                  stride: stride, padding: padding)
    }

    public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        outHeight = (height + 2 * padding - kernelHeight) / stride + 1
        outWidth = (width + 2 * padding - kernelWidth) / stride + 1
    }

    /// Rows of the unfolded matrix: one per (channel, kernel row, kernel column), the order of a
    /// PyTorch weight `[out, in, kh, kw]` read as `[out, in·kh·kw]`.
    public var patchSize: Int { channels * kernelHeight * kernelWidth }
    public var outPositions: Int { outHeight * outWidth }
    public var inPositions: Int { height * width }
}

/// Unfolding images into the matrix whose product with a weight matrix is a convolution, and the
/// adjoint fold. Images are addressed as element (c, n, h, w) at
/// `c·channelStride + n·sampleStride + h·width + w`, so the same code reads the data's per-sample
/// `[n, c, h, w]` rows and the layers' channel-major `[c, n, h, w]` activations.
///
/// The unfolded matrix is `[patchSize, rows·outPositions]` row-major: column (n, oh, ow) holds the
/// patch under output pixel (oh, ow) of sample n. Putting every sample's positions in one row
/// makes a whole batch one sgemm with a long inner dimension instead of one small product per
/// sample, and each row of it is written contiguously.
public enum Im2Col {
    /// Output columns `lo..<hi` whose input column ow·stride − padding + j lies inside the image.
    @inline(__always)
    static func validRange(kernelOffset j: Int, stride s: Int, padding p: Int, inSize: Int, outSize: Int) -> (Int, Int) {
        // ow·s − p + j >= 0  ⇔  ow >= ceil((p − j) / s);  ow·s − p + j <= inSize − 1.
        let lowNumerator = p - j
        let lo = lowNumerator <= 0 ? 0 : (lowNumerator + s - 1) / s
        let highNumerator = inSize - 1 + p - j
        let hi = highNumerator < 0 ? 0 : Swift.min(outSize, highNumerator / s + 1)
        return (Swift.min(lo, hi), hi)
    }

    /// col[(c·kh + i)·kw + j, (n·outH + oh)·outW + ow] = x(c, n, oh·s − p + i, ow·s − p + j), or 0
    /// where that falls in the padding.
    public static func im2col(
        _ x: UnsafePointer<Float>, geometry g: ConvGeometry, rows: Int,
        channelStride: Int, sampleStride: Int, col: UnsafeMutablePointer<Float>
    ) {
        let s = g.stride, p = g.padding, W = g.width, H = g.height
        let oH = g.outHeight, oW = g.outWidth
        let columns = rows * oH * oW
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let dstRow = col + ((c * g.kernelHeight + i) * g.kernelWidth + j) * columns
                    let (lo, hi) = validRange(kernelOffset: j, stride: s, padding: p, inSize: W, outSize: oW)
                    for n in 0..<rows {
                        let image = x + c * channelStride + n * sampleStride
                        for oh in 0..<oH {
                            let dst = dstRow + (n * oH + oh) * oW
                            let ih = oh * s - p + i
                            if ih < 0 || ih >= H {
                                for ow in 0..<oW { dst[ow] = 0 }
                                continue
                            }
                            for ow in 0..<lo { dst[ow] = 0 }
                            let src = image + ih * W - p + j
                            if s == 1 {
                                for ow in lo..<hi { dst[ow] = src[ow] }
                            } else {
                                for ow in lo..<hi { dst[ow] = src[ow * s] }
                            }
                            for ow in hi..<oW { dst[ow] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: image(c, n, h, w) = Σ of every column entry that `im2col` would
    /// copy from there. The image's `rows` samples are overwritten (zeroed first); entries are
    /// added in a fixed order, so the result does not depend on anything but the inputs.
    public static func col2im(
        _ col: UnsafePointer<Float>, geometry g: ConvGeometry, rows: Int,
        channelStride: Int, sampleStride: Int, image x: UnsafeMutablePointer<Float>
    ) {
        let s = g.stride, p = g.padding, W = g.width, H = g.height
        let oH = g.outHeight, oW = g.outWidth
        let columns = rows * oH * oW
        for c in 0..<g.channels {
            for n in 0..<rows {
                let image = x + c * channelStride + n * sampleStride
                for k in 0..<(H * W) { image[k] = 0 }
            }
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let srcRow = col + ((c * g.kernelHeight + i) * g.kernelWidth + j) * columns
                    let (lo, hi) = validRange(kernelOffset: j, stride: s, padding: p, inSize: W, outSize: oW)
                    if lo >= hi { continue }
                    for n in 0..<rows {
                        let image = x + c * channelStride + n * sampleStride
                        for oh in 0..<oH {
                            let ih = oh * s - p + i
                            if ih < 0 || ih >= H { continue }
                            let src = srcRow + (n * oH + oh) * oW
                            let dst = image + ih * W - p + j
                            if s == 1 {
                                for ow in lo..<hi { dst[ow] += src[ow] }
                            } else {
                                for ow in lo..<hi { dst[ow * s] += src[ow] }
                            }
                        }
                    }
                }
            }
        }
    }
}
