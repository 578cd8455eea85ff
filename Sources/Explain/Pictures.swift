import VAE

/// The pictures of the export, each a grid of upscaled tiles.
struct Pictures {
    let shape: ImageShape
    let probe: ModelProbe
    let options: ExplainOptions
    var up: Int { options.upscale }

    /// Originals over their reconstructions (decoder mean at the posterior mean), `columns` per
    /// row pair.
    func comparison(inputs: [Float], mu: [Float], rows n: Int, columns: Int = 8) throws -> RasterImage {
        let recon = probe.decode(mu, rows: n)
        let D = probe.inputDim
        var tiles: [RasterImage?] = []
        for start in stride(from: 0, to: n, by: columns) {
            let end = min(start + columns, n)
            for i in start..<start + columns { tiles.append(i < end ? shape.tile(inputs[(i * D)..<((i + 1) * D)], upscale: up) : nil) }
            for i in start..<start + columns { tiles.append(i < end ? shape.tile(recon[(i * D)..<((i + 1) * D)], upscale: up) : nil) }
        }
        return try ImageGrid.compose(tiles, columns: columns)
    }

    /// One row per dimension: the decoder mean as that coordinate of `base` moves over
    /// centre +- 2 std, every other coordinate held at `base`.
    func traversal(base: [Float], dims: [Int], centre: [Double], std: [Double]) throws -> RasterImage {
        let steps = options.traversalSteps
        var z = [Float]()
        z.reserveCapacity(dims.count * steps * probe.latent)
        for j in dims {
            for s in 0..<steps {
                let t = steps == 1 ? 0 : -2 + 4 * Double(s) / Double(steps - 1)
                var code = base
                code[j] = Float(centre[j] + t * std[j])
                z += code
            }
        }
        let images = probe.decode(z, rows: dims.count * steps)
        let D = probe.inputDim
        let tiles = (0..<(dims.count * steps)).map { Optional(shape.tile(images[($0 * D)..<(($0 + 1) * D)], upscale: up)) }
        return try ImageGrid.compose(tiles, columns: steps)
    }

    /// Decoder means of codes drawn from the prior N(0, I).
    func priorSamples(count: Int, seed: UInt64, columns: Int = 8) throws -> RasterImage {
        let d = probe.latent
        var z = [Float](repeating: 0, count: count * d)
        z.withUnsafeMutableBufferPointer { p in
            for i in 0..<count {
                NoiseGenerator.fillGaussian(seed: seed, epoch: Self.priorEpoch, sampleIndex: i, stream: Self.priorStream,
                                            into: p.baseAddress! + i * d, count: d)
            }
        }
        let images = probe.decode(z, rows: count)
        let D = probe.inputDim
        let tiles = (0..<count).map { Optional(shape.tile(images[($0 * D)..<(($0 + 1) * D)], upscale: up)) }
        return try ImageGrid.compose(tiles, columns: columns)
    }

    /// A (epoch, stream) key of the counter-based generator that neither training (epochs >= 0)
    /// nor evaluation (epoch 0) uses, so prior samples replay no other noise.
    static let priorEpoch = -1
    static let priorStream = 3

    /// One row per sample: the input, then d mu_j / d x for each dimension in `dims`, each map
    /// scaled to its own largest magnitude (blue lowers mu_j, red raises it).
    func saliency(inputs: [Float], rows n: Int, dims: [[Int]]) throws -> RasterImage {
        let D = probe.inputDim
        let columns = 1 + (dims.map(\.count).max() ?? 0)
        var tiles = [RasterImage?](repeating: nil, count: n * columns)
        for i in 0..<n { tiles[i * columns] = shape.tile(inputs[(i * D)..<((i + 1) * D)], upscale: up) }
        // Rows sharing a dimension are differentiated in one batch.
        var byDim: [Int: [(row: Int, col: Int)]] = [:]
        for i in 0..<n { for (c, j) in dims[i].enumerated() { byDim[j, default: []].append((i, c + 1)) } }
        for (j, cells) in byDim.sorted(by: { $0.key < $1.key }) {
            var x = [Float]()
            x.reserveCapacity(cells.count * D)
            for cell in cells { x += inputs[(cell.row * D)..<((cell.row + 1) * D)] }
            let g = probe.saliency(x, rows: cells.count, dimension: j)
            for (k, cell) in cells.enumerated() {
                tiles[cell.row * columns + cell.col] = shape.divergingTile(g[(k * D)..<((k + 1) * D)], upscale: up)
            }
        }
        return try ImageGrid.compose(tiles, columns: columns)
    }

    /// One row per sample: the input, the size of the posterior-mean change per occluded patch,
    /// then the signed change of each dimension in `dims` (on one shared scale per row).
    func occlusion(inputs: [Float], rows n: Int, dims: [[Int]]) throws -> (image: RasterImage, maps: [OcclusionMap]) {
        let D = probe.inputDim
        let columns = 2 + (dims.map(\.count).max() ?? 0)
        var tiles = [RasterImage?](repeating: nil, count: n * columns)
        var maps: [OcclusionMap] = []
        for i in 0..<n {
            let x = Array(inputs[(i * D)..<((i + 1) * D)])
            let map = OcclusionMap.compute(input: x, shape: shape, patch: options.occlusionPatch,
                                           grey: options.occlusionValue, probe: probe)
            maps.append(map)
            tiles[i * columns] = shape.tile(x[...], upscale: up)
            let heat = (try? RasterImage.heat(map.magnitude, width: shape.width, height: shape.height))
                ?? RasterImage(width: shape.width, height: shape.height, fill: RGB(255, 255, 255))
            tiles[i * columns + 1] = heat.upscaled(by: up)
            let changes = dims[i].map { map.change(dimension: $0) }
            let scale = changes.joined().reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 }
            for (c, ch) in changes.enumerated() {
                tiles[i * columns + 2 + c] = shape.divergingTile(ch[...], upscale: up, scale: scale)
            }
        }
        return (try ImageGrid.compose(tiles, columns: columns), maps)
    }

    /// A row of tiles: the query and its neighbours.
    func strip(inputs: [Float], rows n: Int) throws -> RasterImage {
        let D = probe.inputDim
        let tiles = (0..<n).map { Optional(shape.tile(inputs[($0 * D)..<(($0 + 1) * D)], upscale: up)) }
        return try ImageGrid.compose(tiles, columns: max(n, 1))
    }
}

/// A scatter of two latent coordinates as a PNG: every point drawn, coloured by label.
enum ScatterRaster {
    static func render(x: [Float], y: [Float], labels: [Int32]?, size: Int = 480) -> RasterImage {
        var canvas = RasterImage(width: size, height: size, fill: RGB(255, 255, 255))
        let idx = (0..<min(x.count, y.count)).filter { x[$0].isFinite && y[$0].isFinite }
        guard !idx.isEmpty else { return canvas }
        let xs = idx.map { x[$0] }, ys = idx.map { y[$0] }
        let x0 = xs.min() ?? 0, x1 = xs.max() ?? 1, y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        let margin = 12, span = Float(size - 2 * margin)
        func pos(_ v: Float, _ lo: Float, _ hi: Float) -> Int {
            hi > lo ? margin + Int(((v - lo) / (hi - lo) * span).rounded()) : size / 2
        }
        // Axes through zero when it is in range, as a reference for the prior's centre.
        let grey = RGB(200, 200, 200)
        if x0 <= 0 && 0 <= x1 { let px = pos(0, x0, x1); for py in 0..<size { canvas.dot(x: px, y: py, radius: 0, colour: grey) } }
        if y0 <= 0 && 0 <= y1 { let py = size - 1 - pos(0, y0, y1); for px in 0..<size { canvas.dot(x: px, y: py, radius: 0, colour: grey) } }
        for i in idx {
            let colour = labels.map { Colormap.classColour(Int($0[i])) } ?? SVGChart.strong
            canvas.dot(x: pos(x[i], x0, x1), y: size - 1 - pos(y[i], y0, y1), radius: 1, colour: colour)
        }
        return canvas
    }
}
