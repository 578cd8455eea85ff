import Foundation
import XCTest
@testable import VAE

/// The full-covariance Gaussian posterior q(z|x) = N(mu, L Lᵀ): its draw, KL and importance weight
/// against float64 matrix algebra done here from scratch (Σ = L Lᵀ formed, its determinant and
/// inverse by Gaussian elimination), its backward against central finite differences, and its
/// reduction to the diagonal model when L is diagonal.
final class FullCovarianceTests: XCTestCase {
    /// A head `[mu | log diag² | lower]` of `d` dimensions, values that give L a clearly non-diagonal
    /// shape and a diagonal between about 0.5 and 2.
    static func head(d: Int, seed: Int) -> [Float] {
        let block = FullCovarianceGaussian(latent: d)
        return (0..<block.headWidth).map { k in
            let v = Float(sin(Double(k * 7 + seed * 13) * 0.77))
            if k < d { return v }
            if k < 2 * d { return 1.2 * v }
            return 0.45 * v
        }
    }

    static func noise(d: Int, seed: Int) -> [Float] {
        (0..<d).map { Float(cos(Double($0 * 5 + seed * 3) * 1.31)) * 1.2 }
    }

    /// L = diag(s)(I + U) from the head (s = exp(h / 2)), Double.
    static func choleskyFactor(_ h: [Double], d: Int) -> [[Double]] {
        var l = Array(repeating: Array(repeating: 0.0, count: d), count: d)
        var k = 2 * d
        for i in 0..<d {
            l[i][i] = exp(0.5 * h[d + i])
            for j in 0..<i { l[i][j] = l[i][i] * h[k]; k += 1 }
        }
        return l
    }

    static func choleskyFactor(_ h: [Float], d: Int) -> [[Double]] { choleskyFactor(h.map(Double.init), d: d) }

    static func matmul(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count, m = b[0].count, p = b.count
        return (0..<n).map { i in (0..<m).map { j in (0..<p).reduce(0.0) { $0 + a[i][$1] * b[$1][j] } } }
    }

    static func transpose(_ a: [[Double]]) -> [[Double]] {
        (0..<a[0].count).map { j in a.map { $0[j] } }
    }

    /// Solves Σ x = b and returns (x, log det Σ) by Gaussian elimination with partial pivoting:
    /// nothing of the triangular structure the library uses.
    static func solve(_ sigma: [[Double]], _ b: [Double]) -> (x: [Double], logDet: Double) {
        var a = sigma, r = b
        let n = a.count
        var logDet = 0.0
        for c in 0..<n {
            let p = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
            a.swapAt(c, p); r.swapAt(c, p)
            logDet += log(abs(a[c][c]))
            for i in (c + 1)..<n {
                let f = a[i][c] / a[c][c]
                for j in c..<n { a[i][j] -= f * a[c][j] }
                r[i] -= f * r[c]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = r[i]
            for j in (i + 1)..<n { s -= a[i][j] * x[j] }
            x[i] = s / a[i][i]
        }
        return (x, logDet)
    }

    func testDrawKLAndImportanceWeightAgainstMatrixAlgebraInDouble() {
        for d in [1, 2, 5, 9, 19] {
            let block = FullCovarianceGaussian(latent: d)
            XCTAssertEqual(block.headWidth, 2 * d + d * (d - 1) / 2)
            let rows = 3
            var heads: [Float] = [], eps: [Float] = []
            for r in 0..<rows { heads += Self.head(d: d, seed: r + d); eps += Self.noise(d: d, seed: r + 2 * d) }
            var z = [Float](repeating: 0, count: rows * d)
            var terms = LossTerms(count: 2)
            block.sample(heads: heads, noise: eps, z: &z, rows: rows, terms: &terms, first: 1)

            var klSum = 0.0
            for r in 0..<rows {
                let h = Array(heads[(r * block.headWidth)..<((r + 1) * block.headWidth)])
                let e = eps[(r * d)..<((r + 1) * d)].map(Double.init)
                let mu = h[0..<d].map(Double.init)
                let l = Self.choleskyFactor(h, d: d)
                let sigma = Self.matmul(l, Self.transpose(l))
                // z = mu + L eps.
                let zRef = (0..<d).map { i in mu[i] + (0..<d).reduce(0.0) { $0 + l[i][$1] * e[$1] } }
                // KL(N(mu, Σ) ‖ N(0, I)) = ½ (tr Σ + muᵀmu − d − log det Σ).
                let logDet = Self.solve(sigma, mu).logDet
                let trace = (0..<d).reduce(0.0) { $0 + sigma[$1][$1] }
                let klRef = 0.5 * (trace + mu.reduce(0) { $0 + $1 * $1 } - Double(d) - logDet)
                klSum += klRef
                for i in 0..<d {
                    XCTAssertEqual(Double(z[r * d + i]), zRef[i], accuracy: 1e-5 * max(1, abs(zRef[i])), "d=\(d) row \(r) z[\(i)]")
                }

                // The evaluation path (Double) agrees more closely.
                var zEval = [Float](repeating: 0, count: d)
                var evalTerms = LossTerms(count: 2)
                block.evaluationSample(head: h, noise: eps.withUnsafeBufferPointer { $0.baseAddress! + r * d }, z: &zEval,
                                       terms: &evalTerms, first: 1)
                XCTAssertEqual(evalTerms[1], klRef, accuracy: 1e-9 * max(1, abs(klRef)), "d=\(d) evaluation KL")
                for i in 0..<d { XCTAssertEqual(Double(zEval[i]), zRef[i], accuracy: 1e-6 * max(1, abs(zRef[i]))) }

                // log N(z; 0, I) − log N(z; mu, Σ) with Σ⁻¹(z − mu) and log det Σ by elimination.
                let diff = (0..<d).map { zRef[$0] - mu[$0] }
                let (x, ld) = Self.solve(sigma, diff)
                let quad = (0..<d).reduce(0.0) { $0 + diff[$1] * x[$1] }
                let ratioRef = -0.5 * zRef.reduce(0) { $0 + $1 * $1 } + 0.5 * quad + 0.5 * ld
                var scratch = [Float](repeating: 0, count: block.importanceScratchWidth)
                var zIW = [Float](repeating: 0, count: d)
                let constant = block.prepareImportance(head: h, scratch: &scratch)
                let ratio = block.importanceLogRatio(head: h, scratch: scratch, constant: constant,
                                                     noise: eps.withUnsafeBufferPointer { $0.baseAddress! + r * d }, z: &zIW)
                XCTAssertEqual(ratio, ratioRef, accuracy: 2e-5 * max(1, abs(ratioRef)), "d=\(d) row \(r) importance log-ratio")
                for i in 0..<d { XCTAssertEqual(zIW[i], z[r * d + i], "the importance draw is the training draw") }
            }
            XCTAssertEqual(terms[1], klSum, accuracy: 1e-5 * max(1, abs(klSum)), "d=\(d) KL")
        }
    }

    /// The correlation matrix the export writes is Σ's, from L Lᵀ, and L itself comes out unpacked.
    func testCorrelationAndCholeskyExtras() {
        let d = 6
        let block = FullCovarianceGaussian(latent: d)
        let h = Self.head(d: d, seed: 4)
        XCTAssertEqual(block.posteriorExtras.map(\.name), ["posterior_correlation", "posterior_cholesky"])
        var corr = [Float](repeating: 0, count: d * d), chol = [Float](repeating: 0, count: d * d)
        block.posteriorExtra(0, heads: h, rows: 1, into: &corr)
        block.posteriorExtra(1, heads: h, rows: 1, into: &chol)
        let l = Self.choleskyFactor(h, d: d)
        let sigma = Self.matmul(l, Self.transpose(l))
        var logVar = [Float](repeating: 0, count: d)
        block.posteriorLogVariances(heads: h, rows: 1, into: &logVar)
        for i in 0..<d {
            XCTAssertEqual(Double(logVar[i]), log(sigma[i][i]), accuracy: 1e-5)
            for j in 0..<d {
                XCTAssertEqual(Double(chol[i * d + j]), l[i][j], accuracy: 1e-6 * max(1, abs(l[i][j])))
                let rho = sigma[i][j] / (sigma[i][i] * sigma[j][j]).squareRoot()
                XCTAssertEqual(Double(corr[i * d + j]), rho, accuracy: 1e-6, "R[\(i),\(j)]")
            }
        }
        // Per-dimension marginal KLs sum to at most the KL (less the multi-information).
        var per = [Float](repeating: 0, count: d)
        block.perDimensionTerm(heads: h, rows: 1, into: &per)
        var terms = LossTerms(count: 2)
        var z = [Float](repeating: 0, count: d)
        block.evaluationSample(head: h, noise: Self.noise(d: d, seed: 1), z: &z, terms: &terms, first: 1)
        let rDet = Self.solve((0..<d).map { i in (0..<d).map { j in Double(corr[i * d + j]) } }, [Double](repeating: 0, count: d)).logDet
        XCTAssertEqual(per.reduce(0.0) { $0 + Double($1) } - 0.5 * rDet, terms[1], accuracy: 1e-4)
    }

    /// d/d(heads) of Σ_rows (wᵀz + k·KL) against central differences of a float64 forward, for every
    /// head entry, with the bias gradient the row sum.
    func testBlockBackwardByCentralFiniteDifferences() {
        for d in [1, 3, 6, 11] {
            let block = FullCovarianceGaussian(latent: d)
            let H = block.headWidth, rows = 3
            var heads: [Float] = [], eps: [Float] = [], w: [Float] = []
            for r in 0..<rows {
                heads += Self.head(d: d, seed: 3 * r + 1)
                eps += Self.noise(d: d, seed: r + 5)
                w += (0..<d).map { Float(sin(Double($0 + 4 * r) * 2.1)) }
            }
            let k: Float = 0.8
            var z = [Float](repeating: 0, count: rows * d)
            var terms = LossTerms(count: 2)
            block.sample(heads: heads, noise: eps, z: &z, rows: rows, terms: &terms, first: 1)
            var dheads = [Float](repeating: .nan, count: rows * H), bias = [Float](repeating: .nan, count: H)
            block.backward(heads: heads, noise: eps, z: z, dz: w, dheads: &dheads, rows: rows, termScale: k,
                           headBiasGradient: &bias)

            func objective(_ hd: [Double]) -> Double {
                var total = 0.0
                for r in 0..<rows {
                    let hh = Array(hd[(r * H)..<((r + 1) * H)])
                    // Double draw and KL straight from the definition.
                    let l = Self.choleskyFactor(hh, d: d)
                    var kl = 0.0
                    for i in 0..<d {
                        var zi = hh[i]
                        for j in 0...i { zi += l[i][j] * Double(eps[r * d + j]); kl += 0.5 * l[i][j] * l[i][j] }
                        total += Double(w[r * d + i]) * zi
                        kl += 0.5 * (hh[i] * hh[i] - 1) - log(l[i][i])
                    }
                    total += Double(k) * kl
                }
                return total
            }
            let theta = heads.map(Double.init)
            let step = 1e-6
            for i in 0..<theta.count {
                var p = theta, m = theta
                p[i] += step; m[i] -= step
                let numeric = (objective(p) - objective(m)) / (2 * step)
                XCTAssertEqual(Double(dheads[i]), numeric, accuracy: 1e-4 * max(1, abs(numeric)),
                               "d=\(d) head entry \(i % H) of row \(i / H)")
            }
            for j in 0..<H {
                let sum = (0..<rows).reduce(Float(0)) { $0 + dheads[$1 * H + j] }
                XCTAssertEqual(bias[j], sum, accuracy: 1e-5 * max(1, abs(sum)))
            }
        }
    }

    /// Every parameter of whole models with the full posterior, dense and convolutional encoders,
    /// against central differences of the step's own loss.
    func testModelGradientsByCentralFiniteDifferences() throws {
        var dense = ModelConfig(inputDim: 7, encoderHidden: [6], latent: 3, decoderHidden: [5], activation: .tanh,
                                likelihood: .gaussianLearned)
        dense.posterior = "full"
        // Float differences of a loss of a few hundred nats: the Gaussian likelihood with a learned
        // variance keeps the loss, and so the differencing noise, small next to the gradients.
        var conv = ModelConfig(inputDim: 2 * 9 * 9, encoderHidden: [], latent: 3, activation: .tanh,
                               likelihood: .gaussianLearned)
        conv.encoder = try LayerSpec.parseList("conv:3k3s2,dense:6", flag: "encoder")
        conv.decoder = try LayerSpec.parseList("dense:5,convT:3k3s2", flag: "decoder")
        conv.inputShape = [2, 9, 9]
        conv.posterior = "full"
        for (label, config) in [("dense", dense), ("conv", conv)] {
            try config.validate()
            let model = VAEModel(config: config, seed: 4)
            // The lower head starts at zero; move it off so its gradient path is exercised.
            for name in ["encoder.lower.weight", "encoder.lower.bias"] {
                let t = try XCTUnwrap(model.parameter(named: name))
                for i in 0..<t.count { t[i] = Float(sin(Double(i) * 1.7)) * 0.3 }
            }
            let rows = 3, D = config.inputDim
            let ws = TrainingWorkspace(model: model, maxBatch: rows)
            for i in 0..<(rows * D) { ws.input[i] = Float((i * 37) % 17) / 16 - 0.3 }
            ws.prepareNoise(batch: rows, seed: 5, epoch: 1, sampleIndices: [2, 7, 11])
            let klWeight: Float = 0.7, gradScale: Float = 1 / 3
            func loss() -> Double {
                let s = ws.forwardBackward(batch: rows, klWeight: klWeight, gradScale: gradScale)
                return Double(gradScale) * (s.recon + Double(klWeight) * s.regularizer)
            }
            _ = loss()
            let analytic = Array(model.gradients)
            let h: Float = 1e-2
            var worst = 0.0, worstAt = ""
            for spec in model.layout {
                for k in stride(from: 0, to: spec.count, by: max(1, spec.count / 12)) {
                    let i = spec.offset + k
                    let saved = model.parameters[i]
                    model.parameters[i] = saved + h
                    let plus = loss()
                    model.parameters[i] = saved - h
                    let minus = loss()
                    model.parameters[i] = saved
                    let numeric = (plus - minus) / (2 * Double(h))
                    let err = abs(numeric - Double(analytic[i])) / (0.02 + abs(numeric))
                    if err > worst { worst = err; worstAt = "\(spec.name)[\(k)] numeric \(numeric) analytic \(analytic[i])" }
                }
            }
            XCTAssertLessThan(worst, 2e-2, "\(label): worst \(worstAt)")
        }
    }

    /// Lower entries zero: the block gives the diagonal block's z, KL and head gradients bit for bit
    /// (the same float operations in the same order, h read as the diagonal's logvar), so a model
    /// whose U stays zero takes the diagonal model's steps.
    func testDiagonalLIsTheDiagonalBlockExactly() {
        let d = 7, rows = 4
        let full = FullCovarianceGaussian(latent: d), diag = DiagonalGaussian(latent: d)
        var diagHeads: [Float] = [], fullHeads: [Float] = [], eps: [Float] = [], g: [Float] = []
        for r in 0..<rows {
            let mu = (0..<d).map { Float(sin(Double($0 + 9 * r))) }
            let lv = (0..<d).map { Float(cos(Double(2 * $0 + r))) * 1.5 }
            diagHeads += mu + lv
            fullHeads += mu + lv + [Float](repeating: 0, count: full.lowerCount)
            eps += Self.noise(d: d, seed: r)
            g += (0..<d).map { Float(sin(Double(3 * $0 + r))) }
        }
        var zd = [Float](repeating: 0, count: rows * d), zf = zd
        var td = LossTerms(count: 2), tf = LossTerms(count: 2)
        diag.sample(heads: diagHeads, noise: eps, z: &zd, rows: rows, terms: &td, first: 1)
        full.sample(heads: fullHeads, noise: eps, z: &zf, rows: rows, terms: &tf, first: 1)
        XCTAssertEqual(zf, zd)
        XCTAssertEqual(tf[1], td[1])

        var dd = [Float](repeating: 0, count: rows * diag.headWidth), df = [Float](repeating: 0, count: rows * full.headWidth)
        var bd = [Float](repeating: 0, count: diag.headWidth), bf = [Float](repeating: 0, count: full.headWidth)
        diag.backward(heads: diagHeads, noise: eps, z: zd, dz: g, dheads: &dd, rows: rows, termScale: 0.3, headBiasGradient: &bd)
        full.backward(heads: fullHeads, noise: eps, z: zf, dz: g, dheads: &df, rows: rows, termScale: 0.3, headBiasGradient: &bf)
        for r in 0..<rows {
            for i in 0..<d {
                XCTAssertEqual(df[r * full.headWidth + i], dd[r * 2 * d + i], "dmu")
                XCTAssertEqual(df[r * full.headWidth + d + i], dd[r * 2 * d + d + i], "dlogvar")
            }
        }
        XCTAssertEqual(Array(bf.prefix(2 * d)), bd, "the head's bias gradient")
        // The importance weight and the evaluation terms too (the weight to rounding: it is
        // summed through the triangular solve, the diagonal's from the noise).
        for r in 0..<rows {
            let hd = Array(diagHeads[(r * 2 * d)..<((r + 1) * 2 * d)])
            let hf = Array(fullHeads[(r * full.headWidth)..<((r + 1) * full.headWidth)])
            let e = Array(eps[(r * d)..<((r + 1) * d)])
            var sd = [Float](repeating: 0, count: d), sf = sd, z1 = sd, z2 = sd
            let cd = diag.prepareImportance(head: hd, scratch: &sd), cf = full.prepareImportance(head: hf, scratch: &sf)
            let wd = diag.importanceLogRatio(head: hd, scratch: sd, constant: cd, noise: e, z: &z1)
            let wf = full.importanceLogRatio(head: hf, scratch: sf, constant: cf, noise: e, z: &z2)
            XCTAssertEqual(z2, z1)
            XCTAssertEqual(wf, wd, accuracy: 1e-5 * max(1, abs(wd)))
            var ed = LossTerms(count: 2), ef = LossTerms(count: 2)
            diag.evaluationSample(head: hd, noise: e, z: &z1, terms: &ed, first: 1)
            full.evaluationSample(head: hf, noise: e, z: &z2, terms: &ef, first: 1)
            XCTAssertEqual(z2, z1)
            XCTAssertEqual(ef[1], ed[1], accuracy: 1e-12 * max(1, abs(ed[1])))
        }
    }

    /// The whole model: a full-posterior model carrying a diagonal model's weights (mu and logvar as
    /// they are, lower head zero) gives the diagonal model's loss
    /// terms, -ELBO and IWAE. The head GEMM is wider (and OpenBLAS may block a wider product
    /// differently), so agreement is to float rounding: 1e-5 relative.
    func testForcedDiagonalModelReproducesTheDiagonalVAE() throws {
        let base = ModelConfig(inputDim: 12, encoderHidden: [9], latent: 4, decoderHidden: [8])
        var fullConfig = base
        fullConfig.posterior = "full"
        let diag = VAEModel(config: base, seed: 3), full = VAEModel(config: fullConfig, seed: 3)
        for spec in diag.layout {
            let src = diag.parameter(named: spec.name)!
            let dst = try XCTUnwrap(full.parameter(named: spec.name), spec.name)
            for i in 0..<src.count { dst[i] = src[i] }
        }
        for name in ["encoder.lower.weight", "encoder.lower.bias"] {
            let t = try XCTUnwrap(full.parameter(named: name))
            XCTAssertTrue(t.allSatisfy { $0 == 0 }, "the lower head starts at zero")
        }
        // U takes no initialization key: with the same seed, every tensor the two share starts
        // from the same values, so the copy above changed nothing.
        let fresh = VAEModel(config: fullConfig, seed: 3)
        for spec in diag.layout {
            XCTAssertEqual(Array(fresh.parameter(named: spec.name)!), Array(diag.parameter(named: spec.name)!), spec.name)
        }
        let rows = 5
        let wd = TrainingWorkspace(model: diag, maxBatch: rows), wf = TrainingWorkspace(model: full, maxBatch: rows)
        for i in 0..<(rows * 12) { wd.input[i] = Float((i * 29) % 13) / 12; wf.input[i] = wd.input[i] }
        wd.prepareNoise(batch: rows, seed: 9, epoch: 0, sampleIndices: 0..<rows)
        wf.prepareNoise(batch: rows, seed: 9, epoch: 0, sampleIndices: 0..<rows)
        XCTAssertEqual(Array(wd.eps.prefix(rows * 4)), Array(wf.eps.prefix(rows * 4)), "the same noise keys")
        let sd = wd.forwardBackward(batch: rows, klWeight: 1, gradScale: 0.2)
        let sf = wf.forwardBackward(batch: rows, klWeight: 1, gradScale: 0.2)
        for i in 0..<(rows * 4) { XCTAssertEqual(wf.zView[i], wd.zView[i], accuracy: 1e-5 * max(1, abs(wd.zView[i]))) }
        XCTAssertEqual(sf.recon, sd.recon, accuracy: 1e-5 * abs(sd.recon))
        XCTAssertEqual(sf[1], sd[1], accuracy: 1e-5 * abs(sd[1]))
        // Shared tensors get the same gradients.
        for spec in diag.layout {
            let a = diag.gradient(named: spec.name)!
            let b = full.gradient(named: spec.name)!
            for i in 0..<a.count {
                XCTAssertEqual(b[i], a[i], accuracy: 1e-5 * max(1, abs(a[i])), "\(spec.name)[\(i)]")
            }
        }

        let x = Array(wd.input.prefix(rows * 12))
        let ed = Evaluator(model: diag).evaluate(batch: rows, input: x, noiseSeed: 2, firstSampleIndex: 0, iwaeK: 20)
        let ef = Evaluator(model: full).evaluate(batch: rows, input: x, noiseSeed: 2, firstSampleIndex: 0, iwaeK: 20)
        for (a, b) in zip(ed, ef) {
            XCTAssertEqual(b.negativeELBO, a.negativeELBO, accuracy: 1e-5 * abs(a.negativeELBO))
            XCTAssertEqual(try XCTUnwrap(b.iwaeNLL), try XCTUnwrap(a.iwaeNLL), accuracy: 1e-5 * abs(a.iwaeNLL!))
        }
    }

    /// `holdsLatentHead` (the first epochs of `--correlation-hold-epochs`): U's head tensors get an
    /// exactly zero gradient, every tensor above the encoder's trunk the gradient it gets unheld,
    /// and with U's head weight zero (U's outputs then never reach the trunk) the trunk's too.
    func testHeldCorrelationsGetNoGradientAndLeaveTheRestAlone() throws {
        var config = ModelConfig(inputDim: 10, encoderHidden: [7], latent: 4, decoderHidden: [6])
        config.posterior = "full"
        let model = VAEModel(config: config, seed: 2)
        let bias = try XCTUnwrap(model.parameter(named: "encoder.lower.bias"))
        for i in 0..<bias.count { bias[i] = Float(sin(Double(i) * 1.3)) * 0.4 }
        let rows = 3
        let ws = TrainingWorkspace(model: model, maxBatch: rows)
        for i in 0..<(rows * 10) { ws.input[i] = Float((i * 31) % 11) / 10 }
        ws.prepareNoise(batch: rows, seed: 4, epoch: 0, sampleIndices: 0..<rows)
        _ = ws.forwardBackward(batch: rows, klWeight: 1, gradScale: 0.5)
        let free = Array(model.gradients)
        ws.holdsLatentHead = true
        _ = ws.forwardBackward(batch: rows, klWeight: 1, gradScale: 0.5)
        for spec in model.layout {
            let g = Array(model.gradients[spec.offset..<(spec.offset + spec.count)])
            if spec.name.hasPrefix("encoder.lower.") {
                XCTAssertTrue(g.allSatisfy { $0 == 0 }, "\(spec.name) is held")
                XCTAssertTrue(free[spec.offset..<(spec.offset + spec.count)].contains { $0 != 0 }, "\(spec.name) trains unheld")
            } else {
                XCTAssertEqual(g, Array(free[spec.offset..<(spec.offset + spec.count)]), spec.name)
            }
        }
    }

    /// Checkpoints name the head by structure, one GEMM wide; configs without the field are diagonal.
    func testHeadTensorsConfigFieldAndRefusals() throws {
        var config = ModelConfig(inputDim: 10, encoderHidden: [6], latent: 4)
        config.posterior = "full"
        let model = VAEModel(config: config, seed: 0)
        let names = model.layout.map(\.name)
        let head = names.filter { $0.hasPrefix("encoder.") && !$0.hasPrefix("encoder.0") }
        XCTAssertEqual(head, ["encoder.mu.weight", "encoder.logvar.weight", "encoder.lower.weight",
                              "encoder.mu.bias", "encoder.logvar.bias", "encoder.lower.bias"])
        XCTAssertEqual(model.spec(named: "encoder.lower.weight")?.shape, [6, 6])
        // Weights contiguous then biases contiguous: one [14, 6] GEMM and one bias row.
        let w = model.spec(named: "encoder.mu.weight")!, b = model.spec(named: "encoder.mu.bias")!
        XCTAssertEqual(model.spec(named: "encoder.logvar.weight")!.offset, w.offset + 4 * 6)
        XCTAssertEqual(model.spec(named: "encoder.lower.weight")!.offset, w.offset + 8 * 6)
        XCTAssertEqual(b.offset, w.offset + 14 * 6)
        XCTAssertEqual(model.spec(named: "encoder.lower.bias")!.offset, b.offset + 8)

        let json = try JSONEncoder().encode(config)
        XCTAssertEqual(try ModelConfig.decode(json: json, source: "x").posterior, "full")
        let old = try ModelConfig.decode(json: Data(#"{"inputDim":10,"encoderHidden":[6],"latent":4}"#.utf8), source: "old")
        XCTAssertNil(old.posterior)
        XCTAssertTrue(VAEModel(config: old, seed: 0).layout.contains { $0.name == "encoder.logvar.weight" })
        XCTAssertThrowsError(try ModelConfig.decode(json: Data(#"{"inputDim":10,"encoderHidden":[6],"latent":4,"posterior":"wide"}"#.utf8), source: "f.json")) { e in
            XCTAssertEqual("\(e)", #"f.json: model config: posterior must be "diagonal" or "full", found "wide""#)
        }
    }
}
