/// Occlusion attribution: grey out one square patch at a time and measure how far the posterior
/// mean moves. It needs nothing but the encoder, so it checks the gradient-based saliency with a
/// model-agnostic answer (the same idea as LIME's perturbations, without the surrogate model).
struct OcclusionMap {
    /// Per pixel: the L2 change of the whole posterior mean when its patch is greyed.
    let magnitude: [Float]
    /// Per pixel and latent dimension: mu_occluded - mu (row-major, pixels x latent).
    let signedChange: [Float]
    let latent: Int

    func change(dimension j: Int) -> [Float] {
        stride(from: j, to: signedChange.count, by: latent).map { signedChange[$0] }
    }

    /// `grey` is a level of the pictures' scale (0 black, 1 white), so the patch is grey in the
    /// data's own units whatever their range.
    static func compute(input x: [Float], shape: ImageShape, patch: Int, grey level: Float, probe: ModelProbe) -> OcclusionMap {
        let d = probe.latent, D = probe.inputDim
        let grey = shape.value(atGrey: level)
        let base = probe.encode(x, rows: 1).mu
        var patches: [(y: Int, x: Int)] = []
        for py in stride(from: 0, to: shape.height, by: patch) {
            for px in stride(from: 0, to: shape.width, by: patch) { patches.append((py, px)) }
        }
        var batch = [Float]()
        batch.reserveCapacity(patches.count * D)
        for p in patches {
            var copy = x
            for y in p.y..<min(p.y + patch, shape.height) {
                for xx in p.x..<min(p.x + patch, shape.width) { copy[y * shape.width + xx] = grey }
            }
            batch += copy
        }
        let mu = probe.encode(batch, rows: patches.count).mu
        var magnitude = [Float](repeating: 0, count: shape.pixels)
        var signed = [Float](repeating: 0, count: shape.pixels * d)
        for (k, p) in patches.enumerated() {
            var sq: Float = 0
            var delta = [Float](repeating: 0, count: d)
            for j in 0..<d { delta[j] = mu[k * d + j] - base[j]; sq += delta[j] * delta[j] }
            for y in p.y..<min(p.y + patch, shape.height) {
                for xx in p.x..<min(p.x + patch, shape.width) {
                    let pix = y * shape.width + xx
                    magnitude[pix] = sq.squareRoot()
                    for j in 0..<d { signed[pix * d + j] = delta[j] }
                }
            }
        }
        return OcclusionMap(magnitude: magnitude, signedChange: signed, latent: d)
    }
}
