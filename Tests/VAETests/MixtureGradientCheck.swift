import Foundation
import XCTest
@testable import VAE

/// What the mixture blocks' finite-difference tests share, whatever the components: on random
/// heads, noise and an upstream dz, the block's training terms and its evaluation terms against a
/// float64 objective written from the formulas, and every gradient (heads, the head bias, the
/// prior's tensors) against central differences of it.
enum MixtureGradientCheck {
    /// Σ_rows s·(kl_z + kl_y) + s·balance·B·KL(q̄ ‖ uniform) + Σ dz·z, and kl_z, kl_y at s = 1.
    typealias Objective = (_ heads: [Double], _ noise: [Double], _ prior: [Double], _ dz: [Double], _ rows: Int,
                           _ scale: Double, _ balance: Double) -> (total: Double, klz: Double, kly: Double)

    /// `prior` is the bound block's tensors as float64; `held(i)`: prior entry i must get a zero
    /// gradient instead; `name(i)` names entry i in a failure.
    static func run(block: any LatentBlock, gradients: UnsafePointer<Float>, prior: [Double], rows: Int, latent L: Int,
                    balance: Float, random: inout SplitMix, objective: Objective, name: (Int) -> String,
                    held: (Int) -> Bool = { _ in false }, file: StaticString = #filePath, line: UInt = #line) {
        let heads = (0..<(rows * 2 * L)).map { i in Float((i / L) % 2 == 0 ? random.uniform() * 2 - 1 : random.uniform() - 0.8) }
        let noise = (0..<(rows * L)).map { _ in Float(random.uniform() * 2 - 1) }
        let dz = (0..<(rows * L)).map { _ in Float(random.uniform() - 0.5) }
        let scale: Float = 0.7
        var z = [Float](repeating: 0, count: rows * L)
        var terms = LossTerms(count: 3)
        block.sample(heads: heads, noise: noise, z: &z, rows: rows, terms: &terms, first: 1)
        var dheads = [Float](repeating: 0, count: rows * 2 * L), bias = [Float](repeating: 0, count: 2 * L)
        block.backward(heads: heads, noise: noise, z: z, dz: dz, dheads: &dheads, rows: rows, termScale: scale,
                       headBiasGradient: &bias)

        let hd = heads.map(Double.init), nd = noise.map(Double.init), dzd = dz.map(Double.init)
        func f(_ hh: [Double], _ pp: [Double]) -> Double { objective(hh, nd, pp, dzd, rows, Double(scale), Double(balance)).total }
        let reference = objective(hd, nd, prior, dzd, rows, 1, 0)
        XCTAssertEqual(terms[1], reference.klz, accuracy: 1e-4 * max(1, abs(reference.klz)), "balance \(balance): kl_z", file: file, line: line)
        XCTAssertEqual(terms[2], reference.kly, accuracy: 1e-4 * max(1, abs(reference.kly)), "balance \(balance): kl_y", file: file, line: line)
        // The evaluation path (float64) gives the same terms.
        for r in 0..<rows {
            var one = LossTerms(count: 3), zr = [Float](repeating: 0, count: L)
            block.evaluationSample(head: Array(heads[(r * 2 * L)...]), noise: Array(noise[(r * L)...]), z: &zr, terms: &one, first: 1)
            let single = objective(Array(hd[(r * 2 * L)..<((r + 1) * 2 * L)]), Array(nd[(r * L)..<((r + 1) * L)]), prior,
                                   [Double](repeating: 0, count: L), 1, 1, 0)
            XCTAssertEqual(one[1], single.klz, accuracy: 1e-6 * max(1, abs(single.klz)), "row \(r) evaluation kl_z", file: file, line: line)
            XCTAssertEqual(one[2], single.kly, accuracy: 1e-6 * max(1, abs(single.kly)), "row \(r) evaluation kl_y", file: file, line: line)
        }

        let step = 1e-6
        var worst = 0.0, worstName = ""
        func record(_ numeric: Double, _ analytic: Double, _ name: String) {
            let err = abs(numeric - analytic) / (1e-3 + abs(numeric))
            if err > worst { worst = err; worstName = "\(name) numeric \(numeric) analytic \(analytic)" }
        }
        for i in 0..<hd.count {
            var plus = hd, minus = hd
            plus[i] += step; minus[i] -= step
            record((f(plus, prior) - f(minus, prior)) / (2 * step), Double(dheads[i]), "heads[\(i)]")
        }
        for i in 0..<prior.count {
            if held(i) {
                XCTAssertEqual(gradients[i], 0, "\(name(i)) must get no gradient", file: file, line: line)
                continue
            }
            var plus = prior, minus = prior
            plus[i] += step; minus[i] -= step
            record((f(hd, plus) - f(hd, minus)) / (2 * step), Double(gradients[i]), name(i))
        }
        for j in 0..<(2 * L) {
            let sum = (0..<rows).reduce(0.0) { $0 + Double(dheads[$1 * 2 * L + j]) }
            XCTAssertEqual(Double(bias[j]), sum, accuracy: 1e-4 * max(1, abs(sum)), "head bias gradient \(j)", file: file, line: line)
        }
        XCTAssertLessThan(worst, 2e-3, "balance \(balance): worst gradient \(worstName)", file: file, line: line)
    }

    /// The objective of a mixture whose components' log-densities at z are `logDensities(z)`:
    /// Σ_rows s·(kl_z + kl_y) + s·balance·B·KL(q̄ ‖ uniform) + Σ dz·z, z = mu + exp(lv/2)·eps.
    static func objective(heads: [Double], noise: [Double], dz: [Double], rows: Int, L: Int, K: Int, scale: Double,
                          balance: Double, logDensities: ([Double]) -> [Double]) -> (total: Double, klz: Double, kly: Double) {
        var klz = 0.0, kly = 0.0, linear = 0.0
        var mean = [Double](repeating: 0, count: K)
        for r in 0..<rows {
            var z = [Double](repeating: 0, count: L)
            var entropy = 0.0
            for j in 0..<L {
                let mu = heads[r * 2 * L + j], lv = heads[r * 2 * L + L + j]
                z[j] = mu + Foundation.exp(0.5 * lv) * noise[r * L + j]
                entropy += 0.5 * (1 + lv + Foundation.log(2 * Double.pi))
                linear += dz[r * L + j] * z[j]
            }
            let logCond = logDensities(z)
            let logJoint = logCond.map { $0 - Foundation.log(Double(K)) }
            let top = logJoint.max()!
            let lse = top + Foundation.log(logJoint.reduce(0) { $0 + Foundation.exp($1 - top) })
            for k in 0..<K {
                let g = Foundation.exp(logJoint[k] - lse)
                mean[k] += g
                klz -= g * logCond[k]
                kly += g * (Foundation.log(g) + Foundation.log(Double(K)))
            }
            klz -= entropy
        }
        var bal = 0.0
        for k in 0..<K {
            let q = mean[k] / Double(rows)
            bal += q * Foundation.log(Double(K) * q)
        }
        return (scale * (klz + kly) + scale * balance * Double(rows) * bal + linear, klz, kly)
    }
}
