import XCTest
@testable import VAE

/// Matches the independent float64 implementation: forward terms, gradients of the batch mean,
/// and the IWAE bound with the fixture's own noise.
final class ReferenceFixtureTests: XCTestCase {
    func testBernoulliCase() throws { try check(likelihood: "bernoulli") }
    func testGaussianCase() throws { try check(likelihood: "gaussian") }

    private func check(likelihood: String) throws {
        let f = try ReferenceFixture.load()
        let c = try XCTUnwrap(f.cases.first(where: { $0.likelihood == likelihood }))
        let model = try f.model(likelihood: likelihood)
        let B = f.batch, L = f.latent, D = f.inputDim
        let ws = TrainingWorkspace(model: model, maxBatch: B)
        for i in 0..<(B * D) { ws.input[i] = Float(f.x[i]) }
        for i in 0..<(B * L) { ws.eps[i] = Float(f.eps[i]) }

        let kl = ws.forward(batch: B).regularizer
        let heads = ws.headsView
        assertClose((0..<(B * L)).map { Double(heads[($0 / L) * 2 * L + $0 % L]) }, c.mu, "mu")
        assertClose((0..<(B * L)).map { Double(heads[($0 / L) * 2 * L + L + $0 % L]) }, c.logvar, "logvar")
        assertClose(ws.zView.prefix(B * L).map(Double.init), c.z, "z")
        assertClose(ws.outputView.prefix(B * D).map(Double.init), c.decoderOutput, "decoder output")
        XCTAssertEqual(kl, c.klPerSample.reduce(0, +), accuracy: 1e-5)

        let sums = ws.forwardBackward(batch: B, klWeight: 1, gradScale: 1 / Float(B))
        XCTAssertEqual(sums.total / Double(B), c.lossMean, accuracy: 2e-5 * c.lossMean)
        XCTAssertEqual(sums.recon, c.reconPerSample.reduce(0, +), accuracy: 1e-4)
        XCTAssertEqual(Set(c.grads.keys), Set(model.layout.map(\.name)))
        for (name, reference) in c.grads {
            let g = try XCTUnwrap(model.gradient(named: name))
            assertClose(g.map(Double.init), reference, rel: 1e-4, abs: 2e-6, "grad \(name)")
        }

        let evaluator = Evaluator(model: model)
        let x = f.x.map(Float.init), eps = f.eps.map(Float.init), epsK = f.epsIWAE.map(Float.init)
        let results = evaluator.evaluate(batch: B, input: x, eps: eps, iwaeEps: epsK, iwaeK: f.iwaeSamples)
        assertClose(results.map(\.recon), c.reconPerSample, "recon per sample")
        assertClose(results.map(\.kl), c.klPerSample, "kl per sample")
        assertClose(results.map(\.negativeELBO), zip(c.reconPerSample, c.klPerSample).map(+), "-ELBO per sample")
        assertClose(results.map { -($0.iwaeNLL ?? .nan) }, c.iwaeBound, "IWAE bound")
    }
}
