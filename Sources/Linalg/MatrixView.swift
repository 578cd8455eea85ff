/// A row-major view of `rows x cols` floats with a leading dimension (row stride) `ld`.
///
/// Views own nothing: they point into an arena or a workspace. Weights are stored `[out, in]`
/// (PyTorch's convention), activations `[batch, features]`.
public struct MatrixView {
    public let base: UnsafeMutablePointer<Float>
    public let rows: Int
    public let cols: Int
    public let ld: Int

    public init(_ base: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        self.base = base
        self.rows = rows
        self.cols = cols
        self.ld = ld ?? cols
    }

    @inline(__always) public subscript(r: Int, c: Int) -> Float {
        get { base[r * ld + c] }
        nonmutating set { base[r * ld + c] = newValue }
    }

    /// Rows `range` of this view (shares storage).
    public func rows(_ range: Range<Int>) -> MatrixView {
        MatrixView(base + range.lowerBound * ld, rows: range.count, cols: cols, ld: ld)
    }

    public var count: Int { rows * cols }
}
