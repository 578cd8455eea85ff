/// One tensor of a safetensors file: where its bytes sit in the data section (the bytes after
/// the header), which `DType` they hold, and the row-major shape.
public struct TensorEntry: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data section (the header's `data_offsets`).
    public let range: Range<Int>

    public init(name: String, dtype: DType, shape: [Int], range: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.range = range
    }

    /// Number of elements: the product of the shape (1 for a scalar, shape []).
    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { range.count }
}
