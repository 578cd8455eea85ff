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
/// stays in L1: the padding then needs no bounds logic, and each kernel offset (i, j) is one pass
/// over the plane's output positions. Walking row by row instead, as a textbook im2col does, a
/// 7-pixel-wide stride-2 output spends more on loop set-up and short memsets than on the copy.
/// The buffers are made once here, so unfolding allocates nothing.
public final class Im2Col {
    /// How one kernel offset's output rows are moved.
    enum Path: Equatable, CaseIterable {
        /// One indexed load or add per output position (any stride).
        case table
        /// A contiguous copy per output row (stride 1, rows long enough for the library's copy).
        case rows
        /// Stride 1 or 2 and rows of at most 16 outputs: one vector of 8 or 16 per output row,
        /// the stride-2 pixels picked out of a vector twice as wide; fold adds stride-2 rows into
        /// the plane split by parity (putting them back between the lanes they skip, in a vector
        /// twice as wide, compiled to a round trip through the stack each row).
        case vector
    }

    public let geometry: ConvGeometry
    let path: Path
    /// Stride-2 vector folds add into the plane split by row and column parity (four sub-planes
    /// of `halfHeight x halfWidth` after one another, then `slack`), where a stride-2 output row
    /// lands on consecutive floats; interleaved back into the image at the end of each plane.
    private let phases: UnsafeMutablePointer<Float>?
    private let halfHeight: Int, halfWidth: Int
    /// One image plane with `padding` zeros on every side, `paddedWidth` a row, then `slack`
    /// zeros that vector reads and (zero-valued) vector adds past the last row may touch.
    private let plane: UnsafeMutablePointer<Float>
    private let planeCount: Int
    private static let slack = 64
    /// offsets[oh·outWidth + ow] = oh·stride·paddedWidth + ow·stride: where output position
    /// (oh, ow) reads the padded plane for kernel offset (0, 0); offset (i, j) adds i·paddedWidth + j.
    private let offsets: UnsafeMutablePointer<Int>
    /// The lanes of a vector fold's 8- or 16-wide row that lie past the output row (they add −0).
    /// Made once here: built inside the kernel-offset loop, the lane-by-lane compare cost more
    /// than the 7 to 14 vector adds it guards.
    private let drop8: SIMDMask<SIMD8<Int32>>
    private let drop16: SIMDMask<SIMD16<Int32>>

    public convenience init(geometry g: ConvGeometry) {
        let path: Path
        if (g.stride == 1 || g.stride == 2) && g.outWidth <= 16 {
            path = .vector
        } else if g.stride == 1 {
            path = .rows
        } else {
            path = .table
        }
        self.init(geometry: g, path: path)
    }

    /// `path` must suit the geometry (`supports`).
    init(geometry g: ConvGeometry, path: Path) {
        precondition(Self.supports(path, g), "Im2Col: \(path) cannot unfold \(g)")
        geometry = g
        self.path = path
        let pw = g.width + 2 * g.padding
        planeCount = (g.height + 2 * g.padding) * pw
        plane = .allocate(capacity: planeCount + Self.slack)
        plane.initialize(repeating: 0, count: planeCount + Self.slack)
        halfHeight = (g.height + 2 * g.padding + 1) / 2
        halfWidth = (pw + 1) / 2
        if path == .vector && g.stride == 2 {
            let count = 4 * halfHeight * halfWidth + Self.slack
            phases = .allocate(capacity: count)
            phases!.initialize(repeating: 0, count: count)
        } else {
            phases = nil
        }
        drop8 = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= SIMD8(repeating: Int32(g.outWidth))
        drop16 = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .>= SIMD16(repeating: Int32(g.outWidth))
        let positions = g.outPositions
        offsets = .allocate(capacity: max(1, positions))
        offsets.initialize(repeating: 0, count: max(1, positions))
        for oh in 0..<g.outHeight {
            for ow in 0..<g.outWidth { offsets[oh * g.outWidth + ow] = oh * g.stride * pw + ow * g.stride }
        }
    }

    static func supports(_ path: Path, _ g: ConvGeometry) -> Bool {
        switch path {
        case .table: return true
        case .rows: return g.stride == 1
        case .vector: return (g.stride == 1 || g.stride == 2) && g.outWidth <= 16
        }
    }

    deinit {
        plane.deallocate()
        offsets.deallocate()
        phases?.deallocate()
    }

    /// col[(c·kh + i)·kw + j, (n·outH + oh)·outW + ow] = x(c, n, oh·s − p + i, ow·s − p + j), or 0
    /// where that falls in the padding. Every entry of the `rows` columns is written.
    public func unfold(
        _ x: UnsafePointer<Float>, rows: Int, channelStride: Int, sampleStride: Int, into col: UnsafeMutablePointer<Float>
    ) {
        let g = geometry
        let p = g.padding, W = g.width, H = g.height, kh = g.kernelHeight, kw = g.kernelWidth
        let oH = g.outHeight, oW = g.outWidth, P = oH * oW
        let pw = W + 2 * p, s = g.stride
        let columns = rows * P
        let plane = self.plane, offsets = self.offsets
        // The border stays zero: only the interior is rewritten below.
        plane.update(repeating: 0, count: planeCount)
        for c in 0..<g.channels {
            for n in 0..<rows {
                let image = x + c * channelStride + n * sampleStride
                for h in 0..<H { ShortCopy.copy(image + h * W, plane + (h + p) * pw + p, count: W) }
                // A vector store writes up to 15 entries past its output row, into rows or samples
                // of the same patch row that are written later; rows whose vector would reach past
                // the patch row's last column are copied one by one.
                let vectorRows = vectorRowCount(sample: n, columns: columns)
                var dst = col + c * kh * kw * columns + n * P
                for i in 0..<kh {
                    for j in 0..<kw {
                        let src = plane + i * pw + j
                        switch path {
                        case .table:
                            for q in 0..<P { dst[q] = src[offsets[q]] }
                        case .rows:
                            for oh in 0..<oH { (dst + oh * oW).update(from: src + oh * pw, count: oW) }
                        case .vector:
                            let full = vectorRows
                            if oW <= 8 {
                                for oh in 0..<full { UnalignedSIMD.store8(Self.read8(src + oh * s * pw, stride: s), dst + oh * oW) }
                            } else {
                                for oh in 0..<full { UnalignedSIMD.store16(Self.read16(src + oh * s * pw, stride: s), dst + oh * oW) }
                            }
                            for oh in full..<oH {
                                let d = dst + oh * oW, r = src + oh * s * pw
                                for ow in 0..<oW { d[ow] = r[ow * s] }
                            }
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
        let pw = W + 2 * p, s = g.stride
        let columns = rows * P
        let plane = self.plane, offsets = self.offsets, drop8 = self.drop8, drop16 = self.drop16
        for c in 0..<g.channels {
            for n in 0..<rows {
                // What lands on the border is padding's share and is dropped with it.
                let phased = phases != nil
                let hh = halfHeight, hw = halfWidth
                if let phases { phases.update(repeating: 0, count: 4 * hh * hw) } else { plane.update(repeating: 0, count: planeCount) }
                // A vector read takes up to 15 entries past its output row; rows whose vector
                // would reach past the patch row's last column are added one by one.
                let vectorRows = vectorRowCount(sample: n, columns: columns)
                var src = col + c * kh * kw * columns + n * P
                for i in 0..<kh {
                    for j in 0..<kw {
                        let dst = plane + i * pw + j
                        switch path {
                        case .table:
                            for q in 0..<P { dst[offsets[q]] += src[q] }
                        case .rows:
                            for oh in 0..<oH {
                                let d = dst + oh * pw, r = src + oh * oW
                                for ow in 0..<oW { d[ow] += r[ow] }
                            }
                        case .vector:
                            // Output (oh, ow) of offset (i, j) lands on padded pixel (oh·s + i,
                            // ow·s + j): at stride 1 on the plane's row oh + i, at stride 2 on row
                            // oh + i/2 of the sub-plane of parity (i % 2, j % 2). Either way a
                            // row is consecutive floats. Lanes past the row add −0, which leaves
                            // every float as it was (+0 would turn a −0 into +0), so the sums
                            // stay those of the table path.
                            let base = phased
                                ? phases! + ((i & 1) * 2 + (j & 1)) * hh * hw + (i >> 1) * hw + (j >> 1) : dst
                            let rowStride = phased ? hw : pw
                            let full = vectorRows
                            if oW <= 8 {
                                let drop = drop8
                                for oh in 0..<full {
                                    let d = base + oh * rowStride
                                    UnalignedSIMD.store8(UnalignedSIMD.load8(d) + UnalignedSIMD.load8(src + oh * oW).replacing(with: -0.0, where: drop), d)
                                }
                            } else {
                                let drop = drop16
                                for oh in 0..<full {
                                    let d = base + oh * rowStride
                                    UnalignedSIMD.store16(UnalignedSIMD.load16(d) + UnalignedSIMD.load16(src + oh * oW).replacing(with: -0.0, where: drop), d)
                                }
                            }
                            for oh in full..<oH {
                                let d = base + oh * rowStride, r = src + oh * oW
                                for ow in 0..<oW { d[ow] += r[ow] }
                            }
                        }
                        src += columns
                    }
                }
                let image = x + c * channelStride + n * sampleStride
                if let phases {
                    for h in 0..<H {
                        let hp = h + p
                        let even = phases + ((hp & 1) * 2) * hh * hw + (hp >> 1) * hw
                        let odd = even + hh * hw
                        // Padded column w + p is even for w = p % 2, p % 2 + 2, …, which read
                        // consecutive floats of `even` from (w + p) / 2; the other half read `odd`.
                        // Two strided loops: a per-pixel choice of sub-plane cost a select each.
                        let row = image + h * W
                        let e0 = p & 1, o0 = 1 - e0
                        let fromEven = even + ((e0 + p) >> 1), fromOdd = odd + ((o0 + p) >> 1)
                        var k = 0, w = e0
                        while w < W { row[w] = fromEven[k]; w += 2; k += 1 }
                        k = 0; w = o0
                        while w < W { row[w] = fromOdd[k]; w += 2; k += 1 }
                    }
                } else {
                    for h in 0..<H { (image + h * W).update(from: plane + (h + p) * pw + p, count: W) }
                }
            }
        }
    }

    /// Output rows 0..<result of sample `sample` whose vector (8 or 16 entries) ends inside a
    /// patch row of `columns` entries.
    @inline(__always) private func vectorRowCount(sample n: Int, columns: Int) -> Int {
        let oH = geometry.outHeight, oW = geometry.outWidth
        let width = oW <= 8 ? 8 : 16
        // Row oh fits when n·P + oh·oW + width <= columns.
        let room = columns - width - n * oH * oW
        return room < 0 ? 0 : Swift.min(oH, room / oW + 1)
    }

    // The stride-2 read as the even lanes of a vector twice as wide.

    /// r[0], r[s], …, r[7·s] for s 1 or 2.
    @inline(__always) static func read8(_ r: UnsafePointer<Float>, stride s: Int) -> SIMD8<Float> {
        s == 1 ? UnalignedSIMD.load8(r) : UnalignedSIMD.load16(r).evenHalf
    }

    @inline(__always) static func read16(_ r: UnsafePointer<Float>, stride s: Int) -> SIMD16<Float> {
        s == 1 ? UnalignedSIMD.load16(r) : UnalignedSIMD.load32(r).evenHalf
    }
}
