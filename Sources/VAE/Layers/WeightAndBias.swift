/// The four pointers of a layer with one weight and one bias tensor: the values in the parameter
/// arena and their gradients at the same offsets in the gradient arena. Dense, convolution and
/// transposed convolution layers all bind theirs this way.
struct WeightAndBias {
    let weight: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let weightGradient: UnsafeMutablePointer<Float>
    let biasGradient: UnsafeMutablePointer<Float>
}

extension LayerBinding {
    /// The pointers of the layer's declared tensors number `weight` and `bias` (indices into
    /// `offsets`, in declaration order).
    func weightAndBias(weight w: Int = 0, bias b: Int = 1) -> WeightAndBias {
        WeightAndBias(weight: parameters + offsets[w], bias: parameters + offsets[b],
                      weightGradient: gradients + offsets[w], biasGradient: gradients + offsets[b])
    }
}
