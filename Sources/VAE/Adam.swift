import Foundation

/// Adam over a flat arena with bias correction.
///
/// Weight decay, when non-zero, is *decoupled* by default (AdamW: p ← p − lr·wd·p, outside the
/// adaptive scaling); set `decoupledWeightDecay = false` for classic L2 (wd·p added to the
/// gradient before the moments).
public final class Adam {
    public let count: Int
    public var lr: Float
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    public var weightDecay: Float
    public var decoupledWeightDecay: Bool
    public let mStorage: FloatBuffer
    public let vStorage: FloatBuffer
    public var m: UnsafeMutableBufferPointer<Float> { mStorage.buffer }
    public var v: UnsafeMutableBufferPointer<Float> { vStorage.buffer }
    /// Updates taken so far (restored from checkpoints together with m and v).
    public var step: Int = 0

    public init(count: Int, lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = true) {
        self.count = count
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        mStorage = FloatBuffer(count: count)
        vStorage = FloatBuffer(count: count)
    }

    /// One step: p ← p − lr · m̂ / (sqrt(v̂) + eps), in the same formulation as PyTorch's Adam.
    public func update(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>) {
        precondition(parameters.count >= count && gradients.count >= count, "Adam.update: arena smaller than \(count)")
        step += 1
        let t = Double(step)
        let c1 = Float(1 - Foundation.pow(Double(beta1), t))
        let c2 = Float(1 - Foundation.pow(Double(beta2), t))
        // lr / c1 and 1 / sqrt(c2) folded so the loop is multiplies and one divide per element.
        let stepSize = lr / c1
        let invSqrtC2 = 1 / c2.squareRoot()
        let b1 = beta1, b2 = beta2, ob1 = 1 - beta1, ob2 = 1 - beta2, e = eps
        let p = parameters.baseAddress!, g = gradients.baseAddress!
        let mp = mStorage.pointer, vp = vStorage.pointer
        let l2 = decoupledWeightDecay ? 0 : weightDecay
        let decay = decoupledWeightDecay ? 1 - lr * weightDecay : 1
        for i in 0..<count {
            let gi = g[i] + l2 * p[i]
            let mi = b1 * mp[i] + ob1 * gi
            let vi = b2 * vp[i] + ob2 * gi * gi
            mp[i] = mi
            vp[i] = vi
            p[i] = p[i] * decay - stepSize * mi / (FastMath.sqrt(vi) * invSqrtC2 + e)
        }
    }

    /// Clears moments and the step count.
    public func reset() {
        for i in 0..<count { mStorage.buffer[i] = 0; vStorage.buffer[i] = 0 }
        step = 0
    }
}

/// Scales `g` so its L2 norm is at most `maxNorm`; returns the norm before clipping.
/// A non-finite norm leaves `g` untouched (the trainer skips such steps).
@discardableResult
public func clipGlobalNorm(_ g: UnsafeMutableBufferPointer<Float>, maxNorm: Float) -> Float {
    guard let base = g.baseAddress, g.count > 0 else { return 0 }
    let norm = Float(Reductions.sumOfSquaresPrecise(base, count: g.count).squareRoot())
    if norm.isFinite && maxNorm > 0 && norm > maxNorm {
        Reductions.scale(base, count: g.count, by: maxNorm / (norm + 1e-6))
    }
    return norm
}
