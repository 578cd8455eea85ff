/// Element types of the safetensors format, spelled as in the header. The format also has
/// sub-byte types (F4, F6_*): a tensor of those must fill whole bytes.
public enum DType: String, CaseIterable, Sendable {
    case BOOL, U8, I8, I16, U16, I32, U32, I64, U64
    case F16, BF16, F32, F64, C64
    case F8_E5M2, F8_E4M3, F8_E8M0
    case F4, F6_E2M3, F6_E3M2

    /// Bits per element.
    public var bitWidth: Int {
        switch self {
        case .F4: return 4
        case .F6_E2M3, .F6_E3M2: return 6
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0: return 8
        case .I16, .U16, .F16, .BF16: return 16
        case .I32, .U32, .F32: return 32
        case .I64, .U64, .F64, .C64: return 64
        }
    }

    /// Bytes per element, or nil for the sub-byte types.
    public var byteWidth: Int? { bitWidth % 8 == 0 ? bitWidth / 8 : nil }

    /// Bytes taken by `elements` elements; nil on overflow or when they do not fill whole bytes.
    public func byteCount(elements: Int) -> Int? {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitWidth)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }
}

/// Swift types whose values a tensor of the matching dtype holds, little-endian in the file.
public protocol SafeTensorsScalar {
    static var dtype: DType { get }
}
extension Float: SafeTensorsScalar { public static var dtype: DType { .F32 } }
extension Double: SafeTensorsScalar { public static var dtype: DType { .F64 } }
extension Int32: SafeTensorsScalar { public static var dtype: DType { .I32 } }
extension Int64: SafeTensorsScalar { public static var dtype: DType { .I64 } }
extension UInt8: SafeTensorsScalar { public static var dtype: DType { .U8 } }
extension Int8: SafeTensorsScalar { public static var dtype: DType { .I8 } }
extension Int16: SafeTensorsScalar { public static var dtype: DType { .I16 } }
extension UInt16: SafeTensorsScalar { public static var dtype: DType { .U16 } }
extension UInt32: SafeTensorsScalar { public static var dtype: DType { .U32 } }
extension UInt64: SafeTensorsScalar { public static var dtype: DType { .U64 } }
