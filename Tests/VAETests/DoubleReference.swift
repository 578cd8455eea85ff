import Foundation
@testable import VAE

/// A direct float64 VAE forward written independently of the library's kernels: plain loops over
/// [Double], no fusion. Finite differences of it are the ground truth for the gradient checks.
struct DoubleReference {
    let config: ModelConfig
    let layout: [TensorSpec]

    init(model: VAEModel) {
        config = model.config
        layout = model.layout
    }

    private func tensor(_ p: [Double], _ name: String) -> [Double] {
        let s = layout.first(where: { $0.name == name })!
        return Array(p[s.offset..<(s.offset + s.count)])
    }

    private func act(_ v: Double) -> Double {
        switch config.activation {
        case .relu: return max(v, 0)
        case .leakyRelu: return v > 0 ? v : 0.01 * v
        case .tanh: return Foundation.tanh(v)
        case .elu: return v > 0 ? v : Foundation.exp(v) - 1
        }
    }

    /// y = x W^T + b for one row.
    private func dense(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
        let out = b.count, inDim = x.count
        var y = b
        for o in 0..<out {
            for i in 0..<inDim { y[o] += x[i] * w[o * inDim + i] }
        }
        return y
    }

    struct RowTerms { var recon: Double; var kl: Double; var mu: [Double]; var logvar: [Double]; var output: [Double] }

    func row(params p: [Double], x: [Double], eps: [Double]) -> RowTerms {
        var h = x
        for i in config.encoderHidden.indices {
            h = dense(h, tensor(p, "encoder.\(i).weight"), tensor(p, "encoder.\(i).bias")).map(act)
        }
        let mu = dense(h, tensor(p, "encoder.mu.weight"), tensor(p, "encoder.mu.bias"))
        let lv = dense(h, tensor(p, "encoder.logvar.weight"), tensor(p, "encoder.logvar.bias"))
        var d = (0..<config.latent).map { mu[$0] + Foundation.exp(0.5 * lv[$0]) * eps[$0] }
        for j in config.decoderHidden.indices {
            d = dense(d, tensor(p, "decoder.\(j).weight"), tensor(p, "decoder.\(j).bias")).map(act)
        }
        let n = config.decoderHidden.count
        let out = dense(d, tensor(p, "decoder.\(n).weight"), tensor(p, "decoder.\(n).bias"))
        var recon = 0.0
        for k in 0..<config.inputDim {
            let o = out[k], t = x[k]
            switch config.likelihood {
            case .bernoulli:
                // -[t log σ(o) + (1-t) log(1-σ(o))], written through log σ directly.
                let logSig = -Foundation.log(1 + Foundation.exp(-o))
                let logOneMinus = -Foundation.log(1 + Foundation.exp(o))
                recon -= t * logSig + (1 - t) * logOneMinus
            case .gaussianFixed(let v):
                let v = Double(v)
                recon += 0.5 * Foundation.log(2 * Double.pi * v) + (t - o) * (t - o) / (2 * v)
            case .gaussianLearned:
                let s = tensor(p, "likelihood.logvar")[k]
                recon += 0.5 * Foundation.log(2 * Double.pi) + 0.5 * s + 0.5 * (t - o) * (t - o) * Foundation.exp(-s)
            }
        }
        var kl = 0.0
        for j in 0..<config.latent {
            let m = mu[j], v = lv[j]
            kl += 0.5 * (m * m + Foundation.exp(v) - 1 - v)
        }
        return RowTerms(recon: recon, kl: kl, mu: mu, logvar: lv, output: out)
    }

    /// gradScale · Σ_rows (recon + klWeight · kl).
    func objective(params: [Double], x: [Double], eps: [Double], rows: Int, klWeight: Double, gradScale: Double) -> Double {
        let D = config.inputDim, L = config.latent
        var total = 0.0
        for r in 0..<rows {
            let t = row(params: params, x: Array(x[(r * D)..<((r + 1) * D)]), eps: Array(eps[(r * L)..<((r + 1) * L)]))
            total += t.recon + klWeight * t.kl
        }
        return gradScale * total
    }
}
