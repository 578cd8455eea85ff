import Foundation
import XCTest
@testable import VAE

/// The GMVAE's latent block: the mixture prior's log p(z), responsibilities and their gradients
/// against PyTorch float64 (Fixtures/layer-reference.json, `gaussian_mixture_prior`), and the
/// whole training objective (kl_z, kl_y, the balance term, the chain through z) against central
/// finite differences of an independent float64 forward.
final class MixturePriorTests: XCTestCase {
    /// A bound block over its own prior buffers: means then logvars, `[K, L]` each.
    struct Harness {
        let block: any LatentBlock
        let parameters: UnsafeMutablePointer<Float>
        let gradients: UnsafeMutablePointer<Float>
        init(latent: Int, clusters: Int, balance: Float) {
            parameters = .allocate(capacity: 2 * latent * clusters)
            gradients = .allocate(capacity: 2 * latent * clusters)
            parameters.initialize(repeating: 0, count: 2 * latent * clusters)
            gradients.initialize(repeating: 0, count: 2 * latent * clusters)
            block = GaussianMixture<DiagonalComponents>(latent: latent, clusters: clusters, balance: balance)
                .bound(parameters: parameters, gradients: gradients)
        }
    }

    func testFixtureLogDensityResponsibilitiesAndGradients() throws {
        let reference = FixtureReader()
        let cases = try reference.cases("gaussian_mixture_prior")
        XCTAssertEqual(cases.count, 2)
        for (n, raw) in cases.enumerated() {
            let z = try reference.tensor(raw, "z"), means = try reference.tensor(raw, "means")
            let logvars = try reference.tensor(raw, "logvars")
            let rows = z.shape[0], L = z.shape[1], K = means.shape[0]
            XCTAssertEqual(try reference.int(raw, "components"), K)
            let h = Harness(latent: L, clusters: K, balance: 0)
            for i in 0..<(K * L) { h.parameters[i] = Float(means.values[i]); h.parameters[K * L + i] = Float(logvars.values[i]) }
            // Heads with mu = z and logvar = 0, noise 0: the sampled z is the fixture's z.
            var heads = [Float](repeating: 0, count: rows * 2 * L)
            for r in 0..<rows { for j in 0..<L { heads[r * 2 * L + j] = Float(z.values[r * L + j]) } }
            let noise = [Float](repeating: 0, count: rows * L)
            var zOut = [Float](repeating: 0, count: rows * L)
            var gamma = [Float](repeating: 0, count: rows * K)
            h.block.posteriorExtra(0, heads: heads, rows: rows, into: &gamma)
            reference.assertClose(gamma.map(Double.init), try reference.values(raw, "responsibilities"), "case \(n) responsibilities")

            // log p(z) through the IWAE ratio (log q's constant is ½ Σ logvar = 0 here).
            let halfLog2Pi = 0.5 * Foundation.log(2 * Double.pi)
            var scratch = [Float](repeating: 0, count: L)
            var logp: [Double] = []
            for r in 0..<rows {
                let c = h.block.prepareImportance(head: Array(heads[(r * 2 * L)...]), scratch: &scratch)
                let ratio = h.block.importanceLogRatio(head: Array(heads[(r * 2 * L)...]), scratch: scratch, constant: c,
                                                       noise: noise, z: &zOut)
                logp.append(ratio - Double(L) * halfLog2Pi)
            }
            reference.assertClose(logp, try reference.values(raw, "log_pz"), "case \(n) log p(z)")

            // The training terms: kl_z + kl_y = −log p(z) + E log q(z|x), and E log q = −½ L (1 + log 2π).
            var terms = LossTerms(count: 3)
            h.block.sample(heads: heads, noise: noise, z: &zOut, rows: rows, terms: &terms, first: 1)
            let perRow = Double(L) * (0.5 + halfLog2Pi)
            var want = 0.0
            for v in try reference.values(raw, "log_pz") { want -= v + perRow }
            XCTAssertEqual(terms[1] + terms[2], want, accuracy: 1e-4 * max(1, abs(want)), "case \(n) kl_z + kl_y")

            // Gradients of Σ −log p(z) (termScale 1, nothing from the decoder): the fixture's, negated.
            var dheads = [Float](repeating: 0, count: rows * 2 * L), bias = [Float](repeating: 0, count: 2 * L)
            let dz = [Float](repeating: 0, count: rows * L)
            h.block.backward(heads: heads, noise: noise, z: zOut, dz: dz, dheads: &dheads, rows: rows, termScale: 1,
                             headBiasGradient: &bias)
            var gz: [Double] = []
            for r in 0..<rows { for j in 0..<L { gz.append(-Double(dheads[r * 2 * L + j])) } }
            reference.assertClose(gz, try reference.values(raw, "grad_z"), "case \(n) grad z")
            reference.assertClose((0..<(K * L)).map { -Double(h.gradients[$0]) }, try reference.values(raw, "grad_means"),
                                  "case \(n) grad means")
            reference.assertClose((0..<(K * L)).map { -Double(h.gradients[K * L + $0]) }, try reference.values(raw, "grad_logvars"),
                                  "case \(n) grad logvars")
        }
    }

    /// The objective the block's backward differentiates, in float64 written from the formulas, with
    /// diagonal components.
    static func objective(heads: [Double], noise: [Double], prior: [Double], dz: [Double], rows: Int, L: Int, K: Int,
                          scale: Double, balance: Double) -> (total: Double, klz: Double, kly: Double) {
        MixtureGradientCheck.objective(heads: heads, noise: noise, dz: dz, rows: rows, L: L, K: K, scale: scale, balance: balance) { z in
            (0..<K).map { k in
                var s = 0.0
                for j in 0..<L {
                    let m = prior[k * L + j], v = prior[K * L + k * L + j]
                    s += -0.5 * ((z[j] - m) * (z[j] - m) / Foundation.exp(v) + v + Foundation.log(2 * Double.pi))
                }
                return s
            }
        }
    }

    func testObjectiveAndEveryGradientByFiniteDifferences() {
        let rows = 6, L = 3, K = 4
        for balance: Float in [0, 2.5] {
            let h = Harness(latent: L, clusters: K, balance: balance)
            var random = SplitMix(state: 7)
            for i in 0..<(K * L) {
                h.parameters[i] = Float(random.uniform() * 2.4 - 1.2)
                h.parameters[K * L + i] = Float(random.uniform() * 1.2 - 0.6)
            }
            let prior = (0..<(2 * K * L)).map { Double(h.parameters[$0]) }
            MixtureGradientCheck.run(block: h.block, gradients: h.gradients, prior: prior, rows: rows, latent: L, balance: balance,
                                     random: &random,
                                     objective: { Self.objective(heads: $0, noise: $1, prior: $2, dz: $3, rows: $4, L: L, K: K,
                                                                 scale: $5, balance: $6) },
                                     name: { $0 < K * L ? "means[\($0)]" : "logvars[\($0 - K * L)]" })
        }
    }

    /// The IWAE ratio is log p(z) − log q(z|x) up to a constant that cancels: checked against
    /// float64, including that the constant is the same for every sample of a row.
    func testImportanceRatioIsMixtureDensityOverPosterior() {
        let L = 2, K = 3
        let h = Harness(latent: L, clusters: K, balance: 0)
        let prior: [Float] = [1, -1, 0, 0.5, -1.5, 1,  0.2, -0.3, 0.1, 0, -0.5, 0.4]
        for i in 0..<prior.count { h.parameters[i] = prior[i] }
        let head: [Float] = [0.3, -0.2, -0.4, 0.6]
        var scratch = [Float](repeating: 0, count: L), z = [Float](repeating: 0, count: L)
        let c = h.block.prepareImportance(head: head, scratch: &scratch)
        var offsets: [Double] = []
        for e in [[0.5, -1.0], [1.5, 0.2], [-0.7, 0.9]] as [[Float]] {
            let ratio = h.block.importanceLogRatio(head: head, scratch: scratch, constant: c, noise: e, z: &z)
            var logq = 0.0, comps: [Double] = []
            for j in 0..<L {
                let lv = Double(head[L + j])
                logq += -0.5 * (Double(e[j] * e[j]) + lv + Foundation.log(2 * Double.pi))
            }
            for k in 0..<K {
                var s = -Foundation.log(Double(K))
                for j in 0..<L {
                    let m = Double(prior[k * L + j]), v = Double(prior[K * L + k * L + j])
                    let zj = Double(head[j]) + Foundation.exp(0.5 * Double(head[L + j])) * Double(e[j])
                    s += -0.5 * ((zj - m) * (zj - m) / Foundation.exp(v) + v + Foundation.log(2 * Double.pi))
                }
                comps.append(s)
            }
            let top = comps.max()!
            let logp = top + Foundation.log(comps.reduce(0) { $0 + Foundation.exp($1 - top) })
            offsets.append(ratio - (logp - logq))
        }
        for o in offsets { XCTAssertEqual(o, offsets[0], accuracy: 1e-5, "the ratio's constant must not depend on the sample") }
    }

    /// The per-cluster saliency of the export differentiates a responsibility through the head:
    /// the block's gradient must match central differences of the responsibilities it reports.
    func testResponsibilityGradientMatchesFiniteDifferences() {
        let L = 3, K = 4
        let h = Harness(latent: L, clusters: K, balance: 0)
        let prior: [Float] = [1, -1, 0.3, 0, 0.5, -0.2, -1.5, 1, 0.8, 0.2, -0.3, -0.9,
                              0.1, -0.4, 0.3, 0.2, -0.5, 0.4, -0.1, 0.3, 0, 0.25, -0.2, 0.1]
        for i in 0..<prior.count { h.parameters[i] = prior[i] }
        var head: [Float] = [0.4, -0.3, 0.2, -0.5, 0.3, 0.1, -0.2, 0.6, -0.4, 0.2, -0.1, 0.3]   // two rows
        let rows = 2, H = 2 * L
        for c in 0..<K {
            var analytic = [Float](repeating: .nan, count: rows * H)
            XCTAssertTrue(h.block.extraGradient(0, component: c, heads: head, rows: rows, into: &analytic))
            for r in 0..<rows {
                for e in 0..<H {
                    let i = r * H + e, step: Float = 1e-2
                    var up = [Float](repeating: 0, count: rows * K), down = up
                    let keep = head[i]
                    head[i] = keep + step; h.block.posteriorExtra(0, heads: head, rows: rows, into: &up)
                    head[i] = keep - step; h.block.posteriorExtra(0, heads: head, rows: rows, into: &down)
                    head[i] = keep
                    let numeric = (up[r * K + c] - down[r * K + c]) / (2 * step)
                    XCTAssertEqual(analytic[i], numeric, accuracy: 2e-3, "cluster \(c), row \(r), head entry \(e)")
                }
            }
        }
        var unused = [Float](repeating: 0, count: rows * H)
        XCTAssertFalse(h.block.extraGradient(0, component: K, heads: head, rows: rows, into: &unused))
    }

    func testCheckpointNamesAndVariantRoundTrip() throws {
        var config = ModelConfig(inputDim: 12, encoderHidden: [8], latent: 3)
        config.variant = "gmvae"
        config.clusters = 5
        config.clusterBalance = 1
        let model = try VAEModel(validating: config, seed: 1)
        XCTAssertEqual(model.spec(named: "prior.means")?.shape, [5, 3])
        XCTAssertEqual(model.spec(named: "prior.logvars")?.shape, [5, 3])
        XCTAssertEqual(model.lossTermNames, ["recon", "kl_z", "kl_y"])
        XCTAssertEqual(model.posteriorExtras, [PosteriorExtra(name: "responsibilities", width: 5)])
        let json = try JSONEncoder().encode(config)
        XCTAssertEqual(try ModelConfig.decode(json: json, source: "test"), config)
        // A config without the fields (every checkpoint before them) still reads as the VAE.
        let old = try ModelConfig.decode(json: Data(#"{"inputDim": 12, "encoderHidden": [8], "latent": 3}"#.utf8), source: "old")
        XCTAssertNil(old.clusters)
        XCTAssertNil(VAEModel(config: old, seed: 1).spec(named: "prior.means"))
        var bad = config
        bad.variant = "mixture"
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("gmvae"), "\($0)") }
    }
}

/// A tiny deterministic generator for test values.
struct SplitMix {
    var state: UInt64
    mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}
