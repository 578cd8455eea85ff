import Foundation
import Linalg

/// Reconstruction terms -log p(x | decoder output), fused with their gradients.
///
/// Training never needs per-sample values, only the batch sum, so the fused kernels accumulate
/// each element's loss into a per-column accumulator: the loop stays elementwise across a row and
/// vectorizes, and one short reduction over the columns finishes the batch.
enum LikelihoodKernels {
    static let halfLog2Pi: Float = 0.918_938_53

    /// The model's likelihood, fused: the output is overwritten by gradScale · d/d(output), the
    /// last bias gradient written to `biasGrad` (and a learned variance's to `logVarGrad`, reading
    /// `logVar`); returns −log p(x | output) summed over the rows, with its constants.
    static func forwardBackward(
        _ likelihood: Likelihood, output out: UnsafeMutablePointer<Float>, target x: UnsafePointer<Float>,
        rows: Int, cols: Int, gradScale: Float, lossAcc: UnsafeMutablePointer<Float>,
        biasGrad: UnsafeMutablePointer<Float>, logVar: UnsafePointer<Float>?, invVar: UnsafeMutablePointer<Float>,
        logVarGrad: UnsafeMutablePointer<Float>?
    ) -> Double {
        switch likelihood {
        case .bernoulli:
            bernoulliForwardBackward(logits: out, target: x, rows: rows, cols: cols, gradScale: gradScale,
                                     lossAcc: lossAcc, biasGrad: biasGrad)
            return Double(Reductions.sum(lossAcc, count: cols))
        case .gaussianFixed(let variance):
            gaussianFixedForwardBackward(mean: out, target: x, rows: rows, cols: cols, variance: variance,
                                         gradScale: gradScale, lossAcc: lossAcc, biasGrad: biasGrad)
            return Double(Reductions.sum(lossAcc, count: cols))
                + Double(rows * cols) * (Double(halfLog2Pi) + 0.5 * Foundation.log(Double(variance)))
        case .gaussianLearned:
            gaussianLearnedForwardBackward(mean: out, target: x, rows: rows, cols: cols, logVar: logVar!, invVar: invVar,
                                           gradScale: gradScale, lossAcc: lossAcc, biasGrad: biasGrad,
                                           logVarGrad: logVarGrad!)
            return Double(Reductions.sum(lossAcc, count: cols)) + Double(rows * cols) * Double(halfLog2Pi)
        }
    }

    /// Bernoulli with logits. In place: out[i, j] ← gradScale · (sigmoid(l) − x);
    /// lossAcc[j] += max(l, 0) − l·x + log(1 + e^−|l|); biasGrad[j] = Σ_i out[i, j] (overwritten).
    static func bernoulliForwardBackward(
        logits out: UnsafeMutablePointer<Float>, target x: UnsafePointer<Float>, rows: Int, cols: Int,
        gradScale: Float, lossAcc: UnsafeMutablePointer<Float>, biasGrad: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<cols { lossAcc[j] = 0; biasGrad[j] = 0 }
        for i in 0..<rows {
            let o = out + i * cols, t = x + i * cols
            for j in 0..<cols {
                let l = o[j], xv = t[j]
                let e = FastMath.exp(-Swift.abs(l))
                lossAcc[j] += Swift.max(l, 0) - l * xv + FastMath.log(1 + e)
                let sig = FastMath.sigmoid(l, expNegAbs: e)
                let d = (sig - xv) * gradScale
                o[j] = d
                biasGrad[j] += d
            }
        }
    }

    /// Gaussian with fixed variance: loss = 0.5·log(2πσ²) + (x − m)²/(2σ²) per element. The
    /// constant is added by the caller (rows · cols · c); lossAcc gets the quadratic part.
    static func gaussianFixedForwardBackward(
        mean out: UnsafeMutablePointer<Float>, target x: UnsafePointer<Float>, rows: Int, cols: Int,
        variance: Float, gradScale: Float, lossAcc: UnsafeMutablePointer<Float>, biasGrad: UnsafeMutablePointer<Float>
    ) {
        let invVar = 1 / variance
        let half = 0.5 * invVar
        let gs = gradScale * invVar
        for j in 0..<cols { lossAcc[j] = 0; biasGrad[j] = 0 }
        for i in 0..<rows {
            let o = out + i * cols, t = x + i * cols
            for j in 0..<cols {
                let r = o[j] - t[j]
                lossAcc[j] += half * r * r
                let d = r * gs
                o[j] = d
                biasGrad[j] += d
            }
        }
    }

    /// Gaussian with learned per-pixel log-variance s: loss = 0.5·log 2π + 0.5·s_j + 0.5·(x − m)²·e^−s_j.
    /// Writes the mean's gradient in place, its bias gradient, and the gradient of s into
    /// `logVarGrad` (overwritten). `invVar` is scratch of `cols` floats. lossAcc gets everything
    /// but the 0.5·log 2π constant.
    static func gaussianLearnedForwardBackward(
        mean out: UnsafeMutablePointer<Float>, target x: UnsafePointer<Float>, rows: Int, cols: Int,
        logVar s: UnsafePointer<Float>, invVar: UnsafeMutablePointer<Float>, gradScale: Float,
        lossAcc: UnsafeMutablePointer<Float>, biasGrad: UnsafeMutablePointer<Float>, logVarGrad: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<cols {
            invVar[j] = FastMath.exp(-s[j])
            lossAcc[j] = 0.5 * s[j] * Float(rows)
            biasGrad[j] = 0
            logVarGrad[j] = 0.5 * gradScale * Float(rows)
        }
        for i in 0..<rows {
            let o = out + i * cols, t = x + i * cols
            for j in 0..<cols {
                let r = o[j] - t[j]
                let q = 0.5 * r * r * invVar[j]
                lossAcc[j] += q
                logVarGrad[j] -= q * gradScale
                let d = r * invVar[j] * gradScale
                o[j] = d
                biasGrad[j] += d
            }
        }
    }

    /// Per-row -log p(x | output) without gradients (evaluation). Uses `scratch` (cols floats).
    static func reconPerRow(
        output o: UnsafePointer<Float>, target x: UnsafePointer<Float>, rows: Int, cols: Int,
        likelihood: Likelihood, logVar: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
        into result: UnsafeMutablePointer<Double>
    ) {
        switch likelihood {
        case .bernoulli:
            for i in 0..<rows {
                let orow = o + i * cols, t = x + i * cols
                for j in 0..<cols {
                    let l = orow[j]
                    scratch[j] = Swift.max(l, 0) - l * t[j] + FastMath.log(1 + FastMath.exp(-Swift.abs(l)))
                }
                result[i] = Double(Reductions.sum(scratch, count: cols))
            }
        case .gaussianFixed(let variance):
            let half = 0.5 / variance
            let constant = Double(cols) * (Double(halfLog2Pi) + 0.5 * Foundation.log(Double(variance)))
            for i in 0..<rows {
                let orow = o + i * cols, t = x + i * cols
                for j in 0..<cols { let r = orow[j] - t[j]; scratch[j] = half * r * r }
                result[i] = Double(Reductions.sum(scratch, count: cols)) + constant
            }
        case .gaussianLearned:
            guard let s = logVar else { return }
            let constant = Double(cols) * Double(halfLog2Pi)
            for i in 0..<rows {
                let orow = o + i * cols, t = x + i * cols
                for j in 0..<cols {
                    let r = orow[j] - t[j]
                    scratch[j] = 0.5 * s[j] + 0.5 * r * r * FastMath.exp(-s[j])
                }
                result[i] = Double(Reductions.sum(scratch, count: cols)) + constant
            }
        }
    }
}
