/// Forward and backward of a chain of dense layers, shared by training and evaluation.
///
/// Buffers are passed as raw pointers prepared once by the owner (workspace or evaluator); these
/// functions allocate nothing.
enum DenseStack {
    /// Runs `layers` on `rows` rows of `input`. Hidden layers (all but the last when
    /// `lastIsLinear`) apply bias + activation in one pass; the last layer adds its bias only.
    /// `outputs[i]` receives layer i's output `[rows, layers[i].outDim]`. With `productsOnly` only
    /// the GEMMs run (benchmarks: what the step's products cost on their own).
    @inline(__always)
    static func forward(
        _ layers: [DenseSlot], params: UnsafeMutablePointer<Float>, rows: Int,
        input: UnsafePointer<Float>, outputs: [UnsafeMutablePointer<Float>],
        activation: Activation, lastIsLinear: Bool, productsOnly: Bool = false
    ) {
        var x = input
        for (i, l) in layers.enumerated() {
            let y = outputs[i]
            Gemm.linear(rows: rows, inDim: l.inDim, outDim: l.outDim, x: x, w: params + l.weight, y: y)
            if !productsOnly {
                if lastIsLinear && i == layers.count - 1 {
                    ActivationKernels.biasAdd(y, rows: rows, cols: l.outDim, bias: params + l.bias)
                } else {
                    ActivationKernels.biasActivate(y, rows: rows, cols: l.outDim, bias: params + l.bias, activation: activation)
                }
            }
            x = UnsafePointer(y)
        }
    }

    /// Backward through `layers` given `g`, the gradient w.r.t. the last layer's pre-activation
    /// (its bias gradient already written by the caller).
    ///
    /// For layer i (from the last): dW_i = g^T · in_i; then, unless i is the first layer and
    /// `inputGradient` is nil, g ← g · W_i and the activation derivative of the layer below is
    /// applied in the same pass that writes that layer's bias gradient.
    /// `inputs[i]` is layer i's input; `outputs[i]` its output. Gradients land at `grads` (when
    /// nil, only the input gradient is computed: saliency). `scratch` is two buffers of
    /// `rows x max width` used alternately. Returns nothing; the first layer's input gradient, if
    /// requested, is written to `inputGradient`. With `productsOnly` the activation derivatives
    /// and bias gradients are skipped.
    @inline(__always)
    static func backward(
        _ layers: [DenseSlot], params: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>?,
        rows: Int, g topGrad: UnsafeMutablePointer<Float>,
        inputs: [UnsafePointer<Float>], outputs: [UnsafeMutablePointer<Float>],
        activation: Activation, scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
        inputGradient: UnsafeMutablePointer<Float>?, productsOnly: Bool = false,
        ready: ((Int) -> Void)? = nil
    ) {
        var g = topGrad
        var useFirst = true
        var i = layers.count - 1
        while i >= 0 {
            let l = layers[i]
            if let grads {
                Gemm.weightGradient(rows: rows, inDim: l.inDim, outDim: l.outDim, dy: g, x: inputs[i], dw: grads + l.weight)
                // This layer's bias came with the layer above (or the loss): every gradient from
                // its weight to the end of the arena is final, and may be sent while we go on.
                ready?(l.weight)
            }
            if i == 0 {
                if let dx = inputGradient {
                    Gemm.inputGradient(rows: rows, inDim: l.inDim, outDim: l.outDim, dy: g, w: params + l.weight, dx: dx)
                }
                break
            }
            let next = useFirst ? scratch.0 : scratch.1
            useFirst.toggle()
            Gemm.inputGradient(rows: rows, inDim: l.inDim, outDim: l.outDim, dy: g, w: params + l.weight, dx: next)
            if !productsOnly {
                let below = layers[i - 1]
                if let grads {
                    ActivationKernels.backward(next, output: outputs[i - 1], rows: rows, cols: below.outDim,
                                               activation: activation, biasGrad: grads + below.bias)
                } else {
                    ActivationKernels.backwardNoBias(next, output: outputs[i - 1], rows: rows, cols: below.outDim,
                                                     activation: activation)
                }
            }
            g = next
            i -= 1
        }
    }
}
