import Foundation
import XCTest
@testable import VAE

/// The hand-written backward against central finite differences of an independent float64
/// forward, for every activation, every likelihood (with learned variance), the KL and the
/// reparameterization, on every parameter of small models.
final class GradientCheckTests: XCTestCase {
    func testEveryActivationAndLikelihood() throws {
        let likelihoods: [Likelihood] = [.bernoulli, .gaussianFixed(variance: 0.3), .gaussianLearned]
        for activation in Activation.allCases {
            for likelihood in likelihoods {
                let config = ModelConfig(inputDim: 7, encoderHidden: [6, 5], latent: 3, decoderHidden: [4, 6],
                                         activation: activation, likelihood: likelihood)
                try check(config, label: "\(activation)/\(likelihood)")
            }
        }
    }

    func testShapesWithoutHiddenLayersAndDeeperStacks() throws {
        try check(ModelConfig(inputDim: 5, encoderHidden: [], latent: 2, decoderHidden: [], activation: .tanh),
                  label: "no hidden layers")
        try check(ModelConfig(inputDim: 6, encoderHidden: [5, 4, 3], latent: 2, decoderHidden: [3],
                              activation: .elu, likelihood: .gaussianLearned),
                  label: "deep encoder")
    }

    func testKLOnlyAndReconOnly() throws {
        // klWeight 0 isolates the reconstruction path, a huge klWeight makes KL dominate.
        let config = ModelConfig(inputDim: 6, encoderHidden: [5], latent: 3, activation: .leakyRelu)
        try check(config, label: "recon only", klWeight: 0)
        try check(config, label: "KL heavy", klWeight: 25)
    }

    private func check(_ config: ModelConfig, label: String, klWeight: Float = 0.7) throws {
        let rows = 3
        let model = VAEModel(config: config, seed: 11)
        let D = config.inputDim, L = config.latent
        // Larger-than-default weights so activations visit both sides of their kinks.
        for i in 0..<model.parameterCount { model.parameters[i] *= 2.5 }
        if let s = model.parameter(named: "likelihood.logvar") {
            for j in 0..<s.count { s[j] = Float(j % 3) * 0.4 - 0.5 }
        }
        let ws = TrainingWorkspace(model: model, maxBatch: rows + 2)
        for i in 0..<(rows * D) { ws.input[i] = Float((i * 37) % 17) / 16 }
        ws.prepareNoise(batch: rows, seed: 5, epoch: 2, sampleIndices: [Int32(3), 9, 40])
        let gradScale: Float = 1 / 3
        let sums = ws.forwardBackward(batch: rows, klWeight: klWeight, gradScale: gradScale)

        let ref = DoubleReference(model: model)
        let theta = model.parameters.map(Double.init)
        let x = ws.input.prefix(rows * D).map(Double.init)
        let eps = ws.eps.prefix(rows * L).map(Double.init)
        let f = { (p: [Double]) in
            ref.objective(params: p, x: x, eps: eps, rows: rows, klWeight: Double(klWeight), gradScale: Double(gradScale))
        }
        // The forward itself agrees with the reference.
        let total = f(theta)
        XCTAssertEqual(Double(gradScale) * (sums.recon + Double(klWeight) * sums.regularizer), total,
                       accuracy: 1e-5 * max(1, abs(total)), "\(label): objective")

        let h = 1e-6
        var worst = 0.0
        var worstName = ""
        for spec in model.layout {
            for k in 0..<spec.count {
                let i = spec.offset + k
                var plus = theta, minus = theta
                plus[i] += h
                minus[i] -= h
                let numeric = (f(plus) - f(minus)) / (2 * h)
                let analytic = Double(model.gradients[i])
                let err = abs(numeric - analytic) / (1e-3 + abs(numeric))
                if err > worst { worst = err; worstName = "\(spec.name)[\(k)] numeric \(numeric) analytic \(analytic)" }
            }
        }
        XCTAssertLessThan(worst, 2e-3, "\(label): worst gradient \(worstName)")
    }
}
