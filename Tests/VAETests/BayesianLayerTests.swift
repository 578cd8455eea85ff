import Foundation
import XCTest
import Linalg
@testable import VAE

/// The Bayesian layers (local reparameterization) against PyTorch's float64 autograd, their
/// backward and the whole Bayesian model's against central finite differences, the weight KL's
/// closed form, and the deterministic limit that must be the ordinary VAE bit for bit.
final class BayesianLayerTests: XCTestCase {
    // MARK: Fixture

    func testDenseAgainstPyTorchFixture() throws {
        let fixture = FixtureReader()
        let cases = try fixture.cases("bayes_linear_local_reparam")
        XCTAssertEqual(cases.count, 2)
        for raw in cases {
            let x = try fixture.tensor(raw, "x"), mu = try fixture.tensor(raw, "mu"), rho = try fixture.tensor(raw, "rho")
            let bmu = try fixture.tensor(raw, "bias_mu"), brho = try fixture.tensor(raw, "bias_rho")
            let eps = try fixture.tensor(raw, "eps"), g = try fixture.tensor(raw, "g"), out = try fixture.tensor(raw, "out")
            let prior = try XCTUnwrap(raw["prior_sigma"] as? NSNumber).floatValue
            let n = x.shape[0], inDim = x.shape[1], outDim = mu.shape[0]
            let label = "bayes linear \(n)x\(inDim)->\(outDim) prior \(prior)"
            let d = BayesianDenseDefinition(name: "encoder.0", inDim: inDim, outDim: outDim, activation: nil,
                                            noiseLayer: 0, rhoInit: -5)
            XCTAssertEqual(d.parameters.map(\.name),
                           ["encoder.0.weight.mu", "encoder.0.bias.mu", "encoder.0.weight.rho", "encoder.0.bias.rho"])
            let h = LayerHarness(d, rows: n)
            let layer = try XCTUnwrap(h.layer as? BayesianDenseLayer)
            h.input.buffer.update(from: x.values.map(Float.init))
            _ = h.parameter(0).update(from: mu.values.map(Float.init))
            _ = h.parameter(1).update(from: bmu.values.map(Float.init))
            _ = h.parameter(2).update(from: rho.values.map(Float.init))
            _ = h.parameter(3).update(from: brho.values.map(Float.init))
            for (i, e) in eps.values.enumerated() { layer.eps[i] = Float(e) }
            h.forward()
            fixture.assertClose(h.output.map(Double.init), out.values, "\(label) forward")
            h.backward(g: g.values.map(Float.init))
            // The fixture's gradients are of Σ g·out + KL: the layer gives the first, the weight
            // KL the second, as the trainer adds them.
            let kl = try XCTUnwrap(GaussianWeightKL(layout: [
                TensorSpec(name: "w.mu", shape: mu.shape, offset: h.offsets[0]),
                TensorSpec(name: "b.mu", shape: bmu.shape, offset: h.offsets[1]),
                TensorSpec(name: "w.rho", shape: rho.shape, offset: h.offsets[2]),
                TensorSpec(name: "b.rho", shape: brho.shape, offset: h.offsets[3]),
            ], priorSigma: prior))
            XCTAssertEqual(kl.parameterCount, inDim * outDim + outDim)
            let want = try XCTUnwrap(raw["kl"] as? NSNumber).doubleValue
            XCTAssertEqual(kl.value(parameters: h.parameters.pointer), want, accuracy: 1e-5 * want, "\(label) KL")
            kl.addGradient(parameters: h.parameters.pointer, gradients: h.gradients.pointer, scale: 1)
            fixture.assertClose(h.gradInput.buffer.map(Double.init), try fixture.values(raw, "grad_x"), "\(label) grad_x")
            for (i, key) in ["grad_mu", "grad_bias_mu", "grad_rho", "grad_bias_rho"].enumerated() {
                fixture.assertClose(h.gradient(i).map(Double.init), try fixture.values(raw, key), "\(label) \(key)")
            }
        }
    }

    // MARK: Finite differences

    /// Σ g·out of one layer bound alone, its noise fixed, against central differences on every
    /// input and parameter value; rho in ±0.6 keeps every sigma and standard deviation far from 0.
    func check(_ definition: any LayerDefinition, rows: Int, label: String, eps: (any Layer) -> UnsafeMutablePointer<Float>) {
        let h = LayerHarness(definition, rows: rows)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        for i in 0..<h.input.count { h.input.buffer[i] = next() }
        for i in 0..<h.parameters.count { h.parameters.buffer[i] = 0.6 * next() }
        let noise = eps(h.layer)
        for i in 0..<(rows * definition.output.count) { noise[i] = next() }
        let g = (0..<(rows * definition.output.count)).map { _ in next() }
        func objective() -> Double {
            h.forward()
            var s = 0.0
            for (o, w) in zip(h.output, g) { s += Double(o) * Double(w) }
            return s
        }
        _ = objective()
        h.backward(g: g)
        let analyticInput = Array(h.gradInput.buffer)
        let analyticParameters = Array(h.gradients.buffer)
        let step: Float = 1e-2
        var worst = 0.0, worstAt = ""
        func probe(_ buffer: UnsafeMutableBufferPointer<Float>, _ analytic: [Float], _ what: String) {
            for i in 0..<buffer.count {
                let saved = buffer[i]
                buffer[i] = saved + step
                let plus = objective()
                buffer[i] = saved - step
                let minus = objective()
                buffer[i] = saved
                let numeric = (plus - minus) / (2 * Double(step))
                let err = abs(numeric - Double(analytic[i])) / (0.05 + abs(numeric))
                if err > worst { worst = err; worstAt = "\(what)[\(i)] numeric \(numeric) analytic \(analytic[i])" }
            }
        }
        probe(h.input.buffer, analyticInput, "input")
        probe(h.parameters.buffer, analyticParameters, "parameters")
        XCTAssertLessThan(worst, 1e-2, "\(label): worst \(worstAt)")
    }

    func testDenseFiniteDifferences() {
        for activation in [nil, Activation.tanh] {
            let d = BayesianDenseDefinition(name: "encoder.0", inDim: 5, outDim: 4, activation: activation, noiseLayer: 0,
                                            rhoInit: -5)
            check(d, rows: 3, label: "bdense \(String(describing: activation))") { ($0 as! BayesianDenseLayer).eps }
        }
    }

    func testConvFiniteDifferences() {
        for (k, s, p) in [(3, 1, 1), (4, 2, 1), (3, 2, 0)] {
            let d = BayesianConv2DDefinition(name: "encoder.0", input: .image(channels: 2, height: 6, width: 5),
                                             outChannels: 3, kernel: k, stride: s, padding: p, activation: .tanh,
                                             noiseLayer: 0, rhoInit: -5)
            check(d, rows: 2, label: "bconv k\(k) s\(s) p\(p)") { ($0 as! BayesianConv2DLayer).eps }
        }
    }

    /// The transposed form on strides, paddings and output paddings that cover the fold's
    /// overlapping, gapped and cropped cases.
    func testConvTransposeFiniteDifferences() {
        for (k, s, p, o) in [(3, 1, 1, 0), (4, 2, 1, 0), (3, 2, 1, 1)] {
            check(convTranspose(kernel: k, stride: s, padding: p, outputPadding: o, rhoInit: -5), rows: 2,
                  label: "bconvT k\(k) s\(s) p\(p) o\(o)") { ($0 as! BayesianConvTranspose2DLayer).eps }
        }
    }

    func convTranspose(kernel k: Int, stride s: Int, padding p: Int, outputPadding o: Int,
                       rhoInit: Float) -> BayesianConvTranspose2DDefinition {
        BayesianConvTranspose2DDefinition(
            ConvTranspose2DDefinition(name: "decoder.2", input: .image(channels: 2, height: 3, width: 4), outChannels: 3,
                                      kernel: k, stride: s, padding: p, outputPadding: o, activation: .tanh),
            noiseLayer: 0, rhoInit: rhoInit)
    }

    /// With every sigma 0 the layer is ConvTranspose2D: the same products on the same values,
    /// so output, mean gradients and input gradient are equal bit for bit, whatever the noise.
    func testConvTransposeWithSigmaZeroIsConvTranspose2D() throws {
        let d = convTranspose(kernel: 4, stride: 2, padding: 1, outputPadding: 1, rhoInit: -200)
        XCTAssertEqual(d.parameters.map(\.name), ["decoder.2.weight.mu", "decoder.2.bias.mu", "decoder.2.weight.rho",
                                                  "decoder.2.bias.rho"])
        XCTAssertEqual(d.parameters.map(\.shape), d.plain.parameters.map(\.shape) + d.plain.parameters.map(\.shape))
        let rows = 3
        let bayes = LayerHarness(d, rows: rows), plain = LayerHarness(d.plain, rows: rows)
        for i in 0..<bayes.input.count { bayes.input.buffer[i] = Float((i * 37) % 23) / 11 - 1 }
        plain.input.buffer.update(from: Array(bayes.input.buffer))
        for t in 0..<2 {
            for i in 0..<plain.parameter(t).count { plain.parameter(t)[i] = Float((i * 29 + t) % 19) / 19 - 0.5 }
            _ = bayes.parameter(t).update(from: Array(plain.parameter(t)))
        }
        _ = bayes.parameter(2).update(repeating: -200)
        _ = bayes.parameter(3).update(repeating: -200)
        let layer = try XCTUnwrap(bayes.layer as? BayesianConvTranspose2DLayer)
        let count = rows * d.output.count
        for i in 0..<count { layer.eps[i] = Float((i * 7) % 13) / 3 - 2 }
        bayes.forward(); plain.forward()
        XCTAssertTrue(layer.sampledLast)
        XCTAssertEqual(Array(bayes.output), Array(plain.output))
        let g = (0..<count).map { Float(($0 * 11) % 17) / 8 - 1 }
        bayes.backward(g: g); plain.backward(g: g)
        XCTAssertEqual(Array(bayes.gradInput.buffer), Array(plain.gradInput.buffer))
        XCTAssertEqual(Array(bayes.gradient(0)), Array(plain.gradient(0)))
        XCTAssertEqual(Array(bayes.gradient(1)), Array(plain.gradient(1)))
        XCTAssertTrue(bayes.gradient(2).allSatisfy { $0 == 0 } && bayes.gradient(3).allSatisfy { $0 == 0 })
    }

    /// Every parameter of small Bayesian models, dense and convolutional, through the training
    /// workspace with its keyed noise: the ELBO's data and latent terms plus the weight KL as the
    /// trainer weights it, against central differences of the same float forward.
    func testWholeModelFiniteDifferences() throws {
        var mlp = ModelConfig(inputDim: 6, encoderHidden: [5], latent: 2, decoderHidden: [4], activation: .tanh)
        mlp.bayesian = BayesianWeights(allLayers: true, priorSigma: 0.5, rhoInit: -1.5)
        var conv = ModelConfig(inputDim: 36, encoderHidden: [], latent: 2, activation: .tanh)
        conv.inputShape = [1, 6, 6]
        conv.encoder = [.bayesianConv(channels: 2, kernel: 3, stride: 2, padding: 1), .bayesianDense(4)]
        conv.decoder = [.bayesianDense(5)]
        conv.bayesian = BayesianWeights(priorSigma: 1, rhoInit: -1.5)
        for (config, label) in [(mlp, "mlp"), (conv, "conv")] {
            try config.validate()
            let model = VAEModel(config: config, seed: 3)
            let kl = try XCTUnwrap(model.weightKL, label)
            let rows = 3, D = config.inputDim
            let ws = TrainingWorkspace(model: model, maxBatch: rows)
            for i in 0..<(rows * D) { ws.input[i] = Float((i * 37) % 17) / 16 }
            ws.prepareNoise(batch: rows, seed: 5, epoch: 2, sampleIndices: [Int32(3), 9, 40])
            let gradScale: Float = 1 / 3, klScale: Float = 0.05
            func objective() -> Double {
                let s = ws.forwardBackward(batch: rows, klWeight: 1, gradScale: gradScale)
                return Double(gradScale) * s.total + Double(klScale) * kl.value(parameters: model.parameters.baseAddress!)
            }
            _ = objective()
            kl.addGradient(parameters: model.parameters.baseAddress!, gradients: model.gradients.baseAddress!, scale: klScale)
            let analytic = Array(model.gradients)
            let step: Float = 1e-2
            var worst = 0.0, worstAt = ""
            for spec in model.layout {
                for k in 0..<spec.count {
                    let i = spec.offset + k
                    let saved = model.parameters[i]
                    model.parameters[i] = saved + step
                    let plus = objective()
                    model.parameters[i] = saved - step
                    let minus = objective()
                    model.parameters[i] = saved
                    let numeric = (plus - minus) / (2 * Double(step))
                    let err = abs(numeric - Double(analytic[i])) / (0.05 + abs(numeric))
                    if err > worst { worst = err; worstAt = "\(spec.name)[\(k)] numeric \(numeric) analytic \(analytic[i])" }
                }
            }
            XCTAssertLessThan(worst, 1e-2, "\(label): worst \(worstAt)")
            XCTAssertTrue(model.layout.contains { $0.name == "encoder.mu.weight.rho" } || label == "conv", label)
        }
    }

    // MARK: The weight KL

    func testWeightKLClosedFormAndGradient() throws {
        let layout = [TensorSpec(name: "a.mu", shape: [3], offset: 0), TensorSpec(name: "a.rho", shape: [3], offset: 3)]
        let kl = try XCTUnwrap(GaussianWeightKL(layout: layout, priorSigma: 0.3))
        var p: [Float] = [0.2, -0.5, 0.0, -3, 0.5, -6]
        let value = p.withUnsafeBufferPointer { kl.value(parameters: $0.baseAddress!) }
        var want = 0.0
        for i in 0..<3 {
            let s = log1p(exp(Double(p[3 + i]))), m = Double(p[i]), ps = 0.3
            want += log(ps / s) + (s * s + m * m) / (2 * ps * ps) - 0.5
        }
        XCTAssertEqual(value, want, accuracy: 1e-5 * abs(want))
        var g = [Float](repeating: 0, count: 6)
        p.withUnsafeBufferPointer { pp in g.withUnsafeMutableBufferPointer { kl.addGradient(parameters: pp.baseAddress!, gradients: $0.baseAddress!, scale: 2) } }
        for i in 0..<6 {
            let h: Float = 1e-3
            let saved = p[i]
            p[i] = saved + h
            let plus = p.withUnsafeBufferPointer { kl.value(parameters: $0.baseAddress!) }
            p[i] = saved - h
            let minus = p.withUnsafeBufferPointer { kl.value(parameters: $0.baseAddress!) }
            p[i] = saved
            let numeric = 2 * (plus - minus) / (2 * Double(h))
            XCTAssertEqual(Double(g[i]), numeric, accuracy: 2e-3 * max(1, abs(numeric)), "gradient \(i)")
        }
        // The step's one-pass form: the same value and gradient.
        var g2 = [Float](repeating: 0, count: 6)
        let v2 = p.withUnsafeBufferPointer { pp in
            g2.withUnsafeMutableBufferPointer { kl.accumulate(parameters: pp.baseAddress!, gradients: $0.baseAddress!, scale: 2) }
        }
        XCTAssertEqual(v2, value, accuracy: 1e-6 * abs(value))
        for i in 0..<6 { XCTAssertEqual(g2[i], g[i], accuracy: 1e-5 * max(1, abs(g[i]))) }
        // The prior itself: KL 0 where q is the prior.
        var atPrior: [Float] = [0, 0, 0, 0, 0, 0]
        let rhoOfPrior = Float(log(expm1(0.3)))
        for i in 3..<6 { atPrior[i] = rhoOfPrior }
        XCTAssertEqual(atPrior.withUnsafeBufferPointer { kl.value(parameters: $0.baseAddress!) }, 0, accuracy: 1e-5)
        XCTAssertNil(GaussianWeightKL(layout: [TensorSpec(name: "x.weight", shape: [2], offset: 0)], priorSigma: 1))
    }

    // MARK: The deterministic limit

    /// With its weights at their means, or every sigma driven to 0, a Bayesian model issues the
    /// ordinary VAE's products on the same values: the same losses and mean gradients bit for bit.
    func testSigmaZeroReproducesTheVAE() throws {
        let plain = ModelConfig(inputDim: 12, encoderHidden: [8, 6], latent: 3, activation: .relu)
        var bayes = plain
        bayes.bayesian = BayesianWeights(allLayers: true, rhoInit: -200)
        let vae = VAEModel(config: plain, seed: 1)
        let bnn = VAEModel(config: bayes, seed: 1)
        XCTAssertEqual(bnn.layout.filter { $0.name.hasSuffix(".mu") }.map { String($0.name.dropLast(3)) },
                       vae.layout.map(\.name))
        for s in vae.layout { _ = bnn.parameter(named: s.name + ".mu")!.update(from: vae.parameter(named: s.name)!) }
        let rows = 5
        for mode in [WeightNoise.Mode.mean, .sampled] {
            let a = TrainingWorkspace(model: vae, maxBatch: rows), b = TrainingWorkspace(model: bnn, maxBatch: rows)
            b.weightMode = mode
            for ws in [a, b] {
                for i in 0..<(rows * 12) { ws.input[i] = Float((i * 13) % 11) / 10 }
                ws.prepareNoise(batch: rows, seed: 9, epoch: 1, sampleIndices: 0..<rows)
            }
            let sa = a.forwardBackward(batch: rows, klWeight: 1, gradScale: 0.2)
            let sb = b.forwardBackward(batch: rows, klWeight: 1, gradScale: 0.2)
            // The Bayesian model's list ends in weight_kl, which the step adds after its reduction.
            XCTAssertEqual(bnn.lossTermNames, vae.lossTermNames + ["weight_kl"])
            XCTAssertEqual((0..<sa.count).map { sa[$0] }, (0..<sa.count).map { sb[$0] }, "\(mode): losses")
            XCTAssertEqual(sb[sa.count], 0)
            for s in vae.layout {
                XCTAssertEqual(Array(vae.gradient(named: s.name)!), Array(bnn.gradient(named: s.name + ".mu")!),
                               "\(mode): gradient of \(s.name)")
            }
        }
    }
}

