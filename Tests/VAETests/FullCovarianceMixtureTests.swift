import Foundation
import XCTest
@testable import VAE

/// The GMVAE's latent block with full-covariance components (`--prior-covariance full`): the
/// training objective and every gradient (the precision factors' included) against central
/// differences of a float64 forward written from Σ⁻¹ = P Pᵀ, the diagonal special case against
/// the diagonal block, draws, the IWAE density, the export's per-dimension split and the
/// responsibilities' gradient.
final class FullCovarianceMixtureTests: XCTestCase {
    struct Harness {
        let block: any LatentBlock
        let latent: Int, clusters: Int
        let parameters: UnsafeMutablePointer<Float>
        let gradients: UnsafeMutablePointer<Float>
        var count: Int { clusters * latent + clusters * latent * latent }
        init(latent: Int, clusters: Int, balance: Float) {
            self.latent = latent
            self.clusters = clusters
            let n = clusters * latent * (1 + latent)
            parameters = .allocate(capacity: n)
            gradients = .allocate(capacity: n)
            parameters.initialize(repeating: 0, count: n)
            gradients.initialize(repeating: .nan, count: n)
            block = GaussianMixture<FullCovarianceComponents>(latent: latent, clusters: clusters, balance: balance)
                .bound(parameters: parameters, gradients: gradients)
        }
        /// Means in ±1.2, factors' log-diagonals in ±0.4, strictly lower entries in ±0.5, upper 0.
        func randomize(_ random: inout SplitMix) {
            let K = clusters, L = latent
            for i in 0..<(K * L) { parameters[i] = Float(random.uniform() * 2.4 - 1.2) }
            for k in 0..<K {
                for j in 0..<L {
                    for i in 0..<L {
                        let v: Double = i < j ? random.uniform() - 0.5 : i == j ? random.uniform() * 0.8 - 0.4 : 0
                        parameters[K * L + (k * L + j) * L + i] = Float(v)
                    }
                }
            }
        }
    }

    /// Σ_k⁻¹ = P Pᵀ and log det Σ_k⁻¹ = 2 Σ ρ, in float64, from the stored tensors.
    static func precisions(_ prior: [Double], L: Int, K: Int) -> (lambda: [Double], logDet: [Double]) {
        var lambda = [Double](repeating: 0, count: K * L * L), logDet = [Double](repeating: 0, count: K)
        for k in 0..<K {
            func p(_ j: Int, _ i: Int) -> Double {
                let v = prior[K * L + (k * L + j) * L + i]
                return i < j ? v : i == j ? Foundation.exp(v) : 0
            }
            for a in 0..<L {
                logDet[k] += 2 * prior[K * L + (k * L + a) * L + a]
                for b in 0..<L {
                    var s = 0.0
                    for t in 0..<L { s += p(a, t) * p(b, t) }
                    lambda[(k * L + a) * L + b] = s
                }
            }
        }
        return (lambda, logDet)
    }

    /// log N(z; m_k, Σ_k) for every k, float64.
    static func logDensities(_ z: [Double], prior: [Double], L: Int, K: Int) -> [Double] {
        let (lambda, logDet) = precisions(prior, L: L, K: K)
        return (0..<K).map { k in
            var q = 0.0
            for a in 0..<L {
                for b in 0..<L {
                    q += (z[a] - prior[k * L + a]) * lambda[(k * L + a) * L + b] * (z[b] - prior[k * L + b])
                }
            }
            return -0.5 * q + 0.5 * logDet[k] - 0.5 * Double(L) * Foundation.log(2 * Double.pi)
        }
    }

    static func objective(heads: [Double], noise: [Double], prior: [Double], dz: [Double], rows: Int, L: Int, K: Int,
                          scale: Double, balance: Double) -> (total: Double, klz: Double, kly: Double) {
        MixtureGradientCheck.objective(heads: heads, noise: noise, dz: dz, rows: rows, L: L, K: K, scale: scale, balance: balance) {
            logDensities($0, prior: prior, L: L, K: K)
        }
    }

    func testObjectiveAndEveryGradientByFiniteDifferences() {
        let rows = 6, L = 3, K = 4
        for balance: Float in [0, 2.5] {
            let h = Harness(latent: L, clusters: K, balance: balance)
            var random = SplitMix(state: 11)
            h.randomize(&random)
            let prior = (0..<h.count).map { Double(h.parameters[$0]) }
            // The unused upper triangle gets no gradient, so Adam leaves it at 0.
            func upper(_ i: Int) -> Bool { let t = i - K * L; return t >= 0 && t % L > (t / L) % L }
            MixtureGradientCheck.run(block: h.block, gradients: h.gradients, prior: prior, rows: rows, latent: L, balance: balance,
                                     random: &random,
                                     objective: { Self.objective(heads: $0, noise: $1, prior: $2, dz: $3, rows: $4, L: L, K: K,
                                                                 scale: $5, balance: $6) },
                                     name: { $0 < K * L ? "means[\($0)]" : "factors[\($0 - K * L)]" }, held: upper)
        }
    }

    /// Before the fit the correlations are held: their gradients are zeroed, the rest kept.
    func testHoldingZeroesOnlyTheCorrelationGradients() {
        let L = 3, K = 2
        let h = Harness(latent: L, clusters: K, balance: 0)
        for i in 0..<h.count { h.gradients[i] = 1 }
        h.block.holdBlockGradients()
        for i in 0..<h.count {
            let t = i - K * L
            let strictlyLower = t >= 0 && t % L < (t / L) % L
            XCTAssertEqual(h.gradients[i], strictlyLower ? 0 : 1, "entry \(i)")
        }
    }

    /// Factors with no off-diagonal entries and ρ = −lv/2 are the diagonal components: the same
    /// terms, head gradients and mean gradients, and dρ = −2 dlv.
    func testDiagonalFactorsAreTheDiagonalMixture() {
        let rows = 5, L = 3, K = 3
        let full = Harness(latent: L, clusters: K, balance: 1.5)
        let diagonalParameters = UnsafeMutablePointer<Float>.allocate(capacity: 2 * K * L)
        let diagonalGradients = UnsafeMutablePointer<Float>.allocate(capacity: 2 * K * L)
        diagonalGradients.initialize(repeating: 0, count: 2 * K * L)
        let diagonal = GaussianMixture<DiagonalComponents>(latent: L, clusters: K, balance: 1.5)
            .bound(parameters: diagonalParameters, gradients: diagonalGradients)
        var random = SplitMix(state: 5)
        for i in 0..<(K * L) {
            let m = Float(random.uniform() * 2 - 1), lv = Float(random.uniform() - 0.5)
            diagonalParameters[i] = m
            diagonalParameters[K * L + i] = lv
            full.parameters[i] = m
            let k = i / L, j = i % L
            full.parameters[K * L + (k * L + j) * L + j] = -0.5 * lv
        }
        let heads = (0..<(rows * 2 * L)).map { _ in Float(random.uniform() - 0.5) }
        let noise = (0..<(rows * L)).map { _ in Float(random.uniform() * 2 - 1) }
        let dz = (0..<(rows * L)).map { _ in Float(random.uniform() - 0.5) }
        var results: [(LossTerms, [Float])] = []
        for block in [full.block, diagonal] {
            var z = [Float](repeating: 0, count: rows * L), terms = LossTerms(count: 3)
            block.sample(heads: heads, noise: noise, z: &z, rows: rows, terms: &terms, first: 1)
            var dheads = [Float](repeating: 0, count: rows * 2 * L), bias = [Float](repeating: 0, count: 2 * L)
            block.backward(heads: heads, noise: noise, z: z, dz: dz, dheads: &dheads, rows: rows, termScale: 1,
                           headBiasGradient: &bias)
            results.append((terms, dheads))
        }
        XCTAssertEqual(results[0].0[1], results[1].0[1], accuracy: 1e-4)
        XCTAssertEqual(results[0].0[2], results[1].0[2], accuracy: 1e-4)
        for i in 0..<(rows * 2 * L) { XCTAssertEqual(results[0].1[i], results[1].1[i], accuracy: 1e-4, "head gradient \(i)") }
        for i in 0..<(K * L) {
            XCTAssertEqual(full.gradients[i], diagonalGradients[i], accuracy: 1e-4, "mean gradient \(i)")
            let k = i / L, j = i % L
            XCTAssertEqual(full.gradients[K * L + (k * L + j) * L + j], -2 * diagonalGradients[K * L + i], accuracy: 1e-4,
                           "log-diagonal gradient \(i)")
        }
    }

    /// A draw x from component k solves P_kᵀ (x − m_k) = noise, so its covariance is Σ_k.
    func testComponentDrawsInvertTheFactor() {
        let L = 4, K = 2
        let h = Harness(latent: L, clusters: K, balance: 0)
        var random = SplitMix(state: 9)
        h.randomize(&random)
        for k in 0..<K {
            let noise = (0..<L).map { _ in Float(random.uniform() * 2 - 1) }
            var x = [Float](repeating: 0, count: L)
            XCTAssertTrue(h.block.priorComponentDraw(k, noise: noise, into: &x))
            for i in 0..<L {
                var s = 0.0
                for j in i..<L {
                    let v = Double(h.parameters[K * L + (k * L + j) * L + i])
                    s += (j == i ? Foundation.exp(v) : v) * (Double(x[j]) - Double(h.parameters[k * L + j]))
                }
                XCTAssertEqual(s, Double(noise[i]), accuracy: 1e-5, "component \(k), row \(i) of the solve")
            }
        }
        var unused = [Float](repeating: 0, count: L)
        XCTAssertFalse(h.block.priorComponentDraw(K, noise: [Float](repeating: 0, count: L), into: &unused))
    }

    /// log p(z) − log q(z|x) up to one constant per row, against the float64 mixture density.
    func testImportanceRatioIsTheFullMixtureDensityOverPosterior() {
        let L = 3, K = 3
        let h = Harness(latent: L, clusters: K, balance: 0)
        var random = SplitMix(state: 21)
        h.randomize(&random)
        let prior = (0..<h.count).map { Double(h.parameters[$0]) }
        let head: [Float] = [0.3, -0.2, 0.5, -0.4, 0.6, -0.1]
        var scratch = [Float](repeating: 0, count: L), z = [Float](repeating: 0, count: L)
        let c = h.block.prepareImportance(head: head, scratch: &scratch)
        var offsets: [Double] = []
        for e in [[0.5, -1.0, 0.3], [1.5, 0.2, -0.8], [-0.7, 0.9, 0.1]] as [[Float]] {
            let ratio = h.block.importanceLogRatio(head: head, scratch: scratch, constant: c, noise: e, z: &z)
            var logq = 0.0, zd = [Double](repeating: 0, count: L)
            for j in 0..<L {
                let lv = Double(head[L + j])
                zd[j] = Double(head[j]) + Foundation.exp(0.5 * lv) * Double(e[j])
                logq += -0.5 * (Double(e[j] * e[j]) + lv + Foundation.log(2 * Double.pi))
            }
            let comps = Self.logDensities(zd, prior: prior, L: L, K: K).map { $0 - Foundation.log(Double(K)) }
            let top = comps.max()!
            offsets.append(ratio - (top + Foundation.log(comps.reduce(0) { $0 + Foundation.exp($1 - top) }) - logq))
        }
        for o in offsets { XCTAssertEqual(o, offsets[0], accuracy: 1e-5, "the ratio's constant must not depend on the sample") }
    }

    /// The export's per-dimension kl_z sums to Σ_k γ_k E_q[−log N(z; m_k, Σ_k)] − H(q) with γ at
    /// the posterior mean, E_q of the quadratic being ½ (d̄ᵀ Λ d̄ + tr(Λ diag σ²)).
    func testPerDimensionTermSumsToTheAnalyticKL() {
        let L = 3, K = 4, rows = 3
        let h = Harness(latent: L, clusters: K, balance: 0)
        var random = SplitMix(state: 33)
        h.randomize(&random)
        let prior = (0..<h.count).map { Double(h.parameters[$0]) }
        let (lambda, logDet) = Self.precisions(prior, L: L, K: K)
        let heads = (0..<(rows * 2 * L)).map { _ in Float(random.uniform() - 0.5) }
        var split = [Float](repeating: 0, count: rows * L), gamma = [Float](repeating: 0, count: rows * K)
        h.block.perDimensionTerm(heads: heads, rows: rows, into: &split)
        h.block.posteriorExtra(0, heads: heads, rows: rows, into: &gamma)
        for r in 0..<rows {
            let mu = (0..<L).map { Double(heads[r * 2 * L + $0]) }, lv = (0..<L).map { Double(heads[r * 2 * L + L + $0]) }
            var want = 0.0
            for k in 0..<K {
                var q = 0.0
                for a in 0..<L {
                    q += lambda[(k * L + a) * L + a] * Foundation.exp(lv[a])
                    for b in 0..<L { q += (mu[a] - prior[k * L + a]) * lambda[(k * L + a) * L + b] * (mu[b] - prior[k * L + b]) }
                }
                want += Double(gamma[r * K + k]) * (0.5 * q - 0.5 * logDet[k])
            }
            for a in 0..<L { want -= 0.5 * (1 + lv[a]) }
            let got = (0..<L).reduce(0.0) { $0 + Double(split[r * L + $1]) }
            XCTAssertEqual(got, want, accuracy: 1e-4 * max(1, abs(want)), "row \(r)")
        }
    }

    func testResponsibilityGradientMatchesFiniteDifferences() {
        let L = 3, K = 3, rows = 2, H = 2 * L
        let h = Harness(latent: L, clusters: K, balance: 0)
        var random = SplitMix(state: 41)
        h.randomize(&random)
        var head = (0..<(rows * H)).map { _ in Float(random.uniform() - 0.5) }
        for c in 0..<K {
            var analytic = [Float](repeating: .nan, count: rows * H)
            XCTAssertTrue(h.block.extraGradient(0, component: c, heads: head, rows: rows, into: &analytic))
            for i in 0..<(rows * H) {
                let step: Float = 1e-2
                var up = [Float](repeating: 0, count: rows * K), down = up
                let keep = head[i]
                head[i] = keep + step; h.block.posteriorExtra(0, heads: head, rows: rows, into: &up)
                head[i] = keep - step; h.block.posteriorExtra(0, heads: head, rows: rows, into: &down)
                head[i] = keep
                let r = i / H
                XCTAssertEqual(analytic[i], (up[r * K + c] - down[r * K + c]) / (2 * step), accuracy: 2e-3, "cluster \(c), entry \(i)")
            }
        }
    }

    func testCheckpointNamesAndConfig() throws {
        var config = ModelConfig(inputDim: 12, encoderHidden: [8], latent: 3)
        config.variant = "gmvae"
        config.clusters = 5
        config.priorCovariance = "full"
        let model = try VAEModel(validating: config, seed: 1)
        XCTAssertEqual(model.spec(named: "prior.means")?.shape, [5, 3])
        XCTAssertEqual(model.spec(named: "prior.precision_cholesky")?.shape, [5, 3, 3])
        XCTAssertNil(model.spec(named: "prior.logvars"))
        XCTAssertEqual(model.lossTermNames, ["recon", "kl_z", "kl_y"])
        XCTAssertEqual(try ModelConfig.decode(json: try JSONEncoder().encode(config), source: "test"), config)
        var wrongValue = config
        wrongValue.priorCovariance = "banded"
        XCTAssertThrowsError(try wrongValue.validate()) { XCTAssertTrue("\($0)".contains("priorCovariance"), "\($0)") }
        var wrongVariant = config
        wrongVariant.variant = nil
        XCTAssertThrowsError(try wrongVariant.validate()) { XCTAssertTrue("\($0)".contains("gmvae"), "\($0)") }
    }
}
