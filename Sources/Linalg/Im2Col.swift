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
/// adjoint fold, for one geometry. Images are addressed as element (c, n, h, w) at
/// `c·channelStride + n·sampleStride + h·width + w`, so the same code reads the data's per-sample
/// `[n, c, h, w]` rows and the layers' channel-major `[c, n, h, w]` activations.
///
/// The unfolded matrix is `[patchSize, rows·outPositions]` row-major: column (n, oh, ow) holds the
/// patch under output pixel (oh, ow) of sample n. Putting every sample's positions in one row
/// makes a whole batch one sgemm with a long inner dimension instead of one small product per
/// sample.
///
/// Both directions go one image plane (c, n) at a time through a zero-bordered copy of it, which
/// stays in L1: the padding then needs no bounds logic, and each kernel offset (i, j) is one loop
/// over the plane's output positions. Walking row by row instead, as a textbook im2col does, a
/// 7-pixel-wide stride-2 output spends more on loop set-up and short memsets than on the copy.
/// The two buffers are made once here, so unfolding allocates nothing.
public final class Im2Col {
    public let geometry: ConvGeometry
    /// One image plane with `padding` zeros on every side: `paddedHeight x paddedWidth`.
    private let plane: UnsafeMutablePointer<Float>
    private let planeCount: Int
    /// offsets[oh·outWidth + ow] = oh·stride·paddedWidth + ow·stride: where output position
    /// (oh, ow) reads the padded plane for kernel offset (0, 0); offset (i, j) adds i·paddedWidth + j.
    private let offsets: UnsafeMutablePointer<Int>
    /// Stride 1 and rows long enough for a vector loop: one contiguous copy per output row beats
    /// the table's indexed loads.
    let copiesRows: Bool

    public convenience init(geometry g: ConvGeometry) {
        self.init(geometry: g, copiesRows: g.stride == 1 && g.outWidth >= 16)
    }

    init(geometry g: ConvGeometry, copiesRows: Bool) {
        geometry = g
        self.copiesRows = copiesRows
        let pw = g.width + 2 * g.padding
        planeCount = (g.height + 2 * g.padding) * pw
        plane = .allocate(capacity: max(1, planeCount))
        plane.initialize(repeating: 0, count: max(1, planeCount))
        let positions = g.outPositions
        offsets = .allocate(capacity: max(1, positions))
        offsets.initialize(repeating: 0, count: max(1, positions))
        for oh in 0..<g.outHeight {
            for ow in 0..<g.outWidth { offsets[oh * g.outWidth + ow] = oh * g.stride * pw + ow * g.stride }
        }
    }

    deinit {
        plane.deallocate()
        offsets.deallocate()
    }

    /// col[(c·kh + i)·kw + j, (n·outH + oh)·outW + ow] = x(c, n, oh·s − p + i, ow·s − p + j), or 0
    /// where that falls in the padding. Every entry of the `rows` columns is written.
    public func unfold(
        _ x: UnsafePointer<Float>, rows: Int, channelStride: Int, sampleStride: Int, into col: UnsafeMutablePointer<Float>
    ) {
        let g = geometry
        let p = g.padding, W = g.width, H = g.height, kh = g.kernelHeight, kw = g.kernelWidth
        let oH = g.outHeight, oW = g.outWidth, P = oH * oW
        let pw = W + 2 * p
        let columns = rows * P
        let plane = self.plane, offsets = self.offsets
        // The border stays zero: only the interior is rewritten below.
        plane.update(repeating: 0, count: planeCount)
        for c in 0..<g.channels {
            for n in 0..<rows {
                let image = x + c * channelStride + n * sampleStride
                for h in 0..<H { (plane + (h + p) * pw + p).update(from: image + h * W, count: W) }
                var dst = col + c * kh * kw * columns + n * P
                for i in 0..<kh {
                    for j in 0..<kw {
                        let src = plane + i * pw + j
                        if copiesRows {
                            for oh in 0..<oH { (dst + oh * oW).update(from: src + oh * pw, count: oW) }
                        } else {
                            for q in 0..<P { dst[q] = src[offsets[q]] }
                        }
                        dst += columns
                    }
                }
            }
        }
    }

    /// The adjoint of `unfold`: image(c, n, h, w) = Σ of every column entry that `unfold` would
    /// copy from there, added from 0 in the order of the patch rows (i, then j), so the result
    /// depends on nothing but the inputs. The image's `rows` samples are overwritten.
    public func fold(
        _ col: UnsafePointer<Float>, rows: Int, channelStride: Int, sampleStride: Int, into x: UnsafeMutablePointer<Float>
    ) {
        let g = geometry
        let p = g.padding, W = g.width, H = g.height, kh = g.kernelHeight, kw = g.kernelWidth
        let oH = g.outHeight, oW = g.outWidth, P = oH * oW
        let pw = W + 2 * p
        let columns = rows * P
        let plane = self.plane, offsets = self.offsets
        for c in 0..<g.channels {
            for n in 0..<rows {
                // What lands on the border is padding's share and is dropped with it.
                plane.update(repeating: 0, count: planeCount)
                var src = col + c * kh * kw * columns + n * P
                for i in 0..<kh {
                    for j in 0..<kw {
                        let dst = plane + i * pw + j
                        if copiesRows {
                            for oh in 0..<oH {
                                let d = dst + oh * pw, s = src + oh * oW
                                for ow in 0..<oW { d[ow] += s[ow] }
                            }
                        } else {
                            for q in 0..<P { dst[offsets[q]] += src[q] }
                        }
                        src += columns
                    }
                }
                let image = x + c * channelStride + n * sampleStride
                for h in 0..<H { (image + h * W).update(from: plane + (h + p) * pw + p, count: W) }
            }
        }
    }
}
