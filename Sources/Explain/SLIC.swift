/// SLIC superpixels (Achanta et al. 2012, "SLIC superpixels compared to state-of-the-art
/// superpixel methods") for single-channel images: k-means over (value, row, column) started on a
/// regular grid, each centre searching only a 2S x 2S window, then connected components, with
/// fragments too small to stand alone merged into a neighbour. Written for grey images, so the
/// colour distance is the difference of values. Deterministic: the same image always gives the
/// same labels, whatever the rank that computes it.
enum SLIC {
    /// How much one step of the grid (S pixels) weighs against a value difference of the image's
    /// full span: 0.1 means a contrast of a tenth of the span counts as much as S pixels of
    /// distance, so edges of faint shapes still bend the superpixels while flat regions stay
    /// compact, roughly square cells.
    static let compactness: Float = 0.1
    static let iterations = 10

    static func segment(_ image: [Float], height: Int, width: Int, segments: Int, valueSpan: Float) -> Segmentation {
        let pixels = height * width
        let wanted = max(1, min(segments, pixels))
        let step = max(1, Float(pixels) / Float(wanted)).squareRoot()
        let across = max(1, Int((Float(width) / step).rounded())), down = max(1, Int((Float(height) / step).rounded()))
        func value(_ y: Int, _ x: Int) -> Float { image[y * width + x] }

        // Centres on the grid, each moved to the lowest-gradient pixel of its 3x3 neighbourhood so
        // that none starts on an edge.
        var cy: [Float] = [], cx: [Float] = [], cv: [Float] = []
        for i in 0..<down {
            for j in 0..<across {
                var y = min(height - 1, Int((Float(i) + 0.5) * Float(height) / Float(down)))
                var x = min(width - 1, Int((Float(j) + 0.5) * Float(width) / Float(across)))
                var best = Float.infinity, by = y, bx = x
                for dy in -1...1 {
                    for dx in -1...1 {
                        let yy = y + dy, xx = x + dx
                        guard yy > 0, yy < height - 1, xx > 0, xx < width - 1 else { continue }
                        let gx = value(yy, xx + 1) - value(yy, xx - 1), gy = value(yy + 1, xx) - value(yy - 1, xx)
                        let g = gx * gx + gy * gy
                        if g < best { best = g; by = yy; bx = xx }
                    }
                }
                y = by; x = bx
                cy.append(Float(y)); cx.append(Float(x)); cv.append(value(y, x))
            }
        }
        let k = cy.count
        let m = max(compactness * max(valueSpan, 1e-6), 1e-6)
        let invM2 = 1 / (m * m), invS2 = 1 / (step * step)
        let reach = Int(step.rounded(.up))
        var label = [Int](repeating: -1, count: pixels)
        var distance = [Float](repeating: .infinity, count: pixels)
        for _ in 0..<iterations {
            for p in 0..<pixels { distance[p] = .infinity }
            for c in 0..<k {
                let y0 = max(0, Int(cy[c]) - reach), y1 = min(height - 1, Int(cy[c]) + reach)
                let x0 = max(0, Int(cx[c]) - reach), x1 = min(width - 1, Int(cx[c]) + reach)
                guard y0 <= y1, x0 <= x1 else { continue }
                for y in y0...y1 {
                    for x in x0...x1 {
                        let dv = value(y, x) - cv[c], dy = Float(y) - cy[c], dx = Float(x) - cx[c]
                        let d = dv * dv * invM2 + (dy * dy + dx * dx) * invS2
                        let p = y * width + x
                        if d < distance[p] { distance[p] = d; label[p] = c }
                    }
                }
            }
            var sy = [Float](repeating: 0, count: k), sx = sy, sv = sy, n = sy
            for y in 0..<height {
                for x in 0..<width {
                    let c = label[y * width + x]
                    guard c >= 0 else { continue }
                    sy[c] += Float(y); sx[c] += Float(x); sv[c] += value(y, x); n[c] += 1
                }
            }
            for c in 0..<k where n[c] > 0 { cy[c] = sy[c] / n[c]; cx[c] = sx[c] / n[c]; cv[c] = sv[c] / n[c] }
        }
        // A window always covers its own centre's pixel, but a centre that lost every pixel can
        // leave a corner unassigned in a tiny image: give those the nearest centre.
        for p in 0..<pixels where label[p] < 0 {
            let y = Float(p / width), x = Float(p % width)
            label[p] = (0..<k).min { a, b in
                (y - cy[a]) * (y - cy[a]) + (x - cx[a]) * (x - cx[a]) < (y - cy[b]) * (y - cy[b]) + (x - cx[b]) * (x - cx[b])
            } ?? 0
        }
        return enforceConnectivity(label, height: height, width: width, minimumSize: max(1, Int(step * step) / 4))
    }

    /// Every segment one 4-connected region: each connected piece of a cluster becomes its own
    /// segment, and pieces smaller than `minimumSize` join the segment found just before them in
    /// scan order next to them (up or left), as in the paper's post-processing.
    static func enforceConnectivity(_ raw: [Int], height: Int, width: Int, minimumSize: Int) -> Segmentation {
        let pixels = height * width
        var out = [Int](repeating: -1, count: pixels)
        var next = 0
        var stack: [Int] = [], piece: [Int] = []
        for start in 0..<pixels where out[start] < 0 {
            let y = start / width, x = start % width
            var adjacent = -1
            if x > 0, out[start - 1] >= 0 { adjacent = out[start - 1] } else if y > 0, out[start - width] >= 0 { adjacent = out[start - width] }
            piece.removeAll(keepingCapacity: true)
            stack.append(start)
            out[start] = next
            while let p = stack.popLast() {
                piece.append(p)
                let py = p / width, px = p % width
                for q in [px > 0 ? p - 1 : -1, px < width - 1 ? p + 1 : -1, py > 0 ? p - width : -1, py < height - 1 ? p + width : -1]
                where q >= 0 && out[q] < 0 && raw[q] == raw[start] {
                    out[q] = next
                    stack.append(q)
                }
            }
            if piece.count < minimumSize && adjacent >= 0 {
                for p in piece { out[p] = adjacent }
            } else {
                next += 1
            }
        }
        return Segmentation.compacting(out)
    }
}
