/// An array read from a `.npy` file: its shape (C order) and its elements in their stored type.
public struct NPYArray {
    public enum Elements {
        case float32([Float])
        case float64([Double])
        case uint8([UInt8])
        case int32([Int32])
        case int64([Int64])
    }

    public let shape: [Int]
    public let elements: Elements

    public init(shape: [Int], elements: Elements) {
        self.shape = shape
        self.elements = elements
    }

    /// Number of elements (the product of `shape`).
    public var count: Int {
        switch elements {
        case .float32(let v): return v.count
        case .float64(let v): return v.count
        case .uint8(let v): return v.count
        case .int32(let v): return v.count
        case .int64(let v): return v.count
        }
    }

    /// The numpy type string this array was stored with, e.g. `<f4`.
    public var descr: String {
        switch elements {
        case .float32: return Float.npyDescr
        case .float64: return Double.npyDescr
        case .uint8: return UInt8.npyDescr
        case .int32: return Int32.npyDescr
        case .int64: return Int64.npyDescr
        }
    }

    /// Every element converted to Float (integers and doubles rounded to nearest).
    public func floats() -> [Float] {
        switch elements {
        case .float32(let v): return v
        case .float64(let v): return v.map { Float($0) }
        case .uint8(let v): return v.map { Float($0) }
        case .int32(let v): return v.map { Float($0) }
        case .int64(let v): return v.map { Float($0) }
        }
    }
}

/// Element types the NPY reader and writer handle, with their numpy type strings.
public protocol NPYElement {
    static var npyDescr: String { get }
}

extension Float: NPYElement { public static var npyDescr: String { "<f4" } }
extension Double: NPYElement { public static var npyDescr: String { "<f8" } }
extension UInt8: NPYElement { public static var npyDescr: String { "|u1" } }
extension Int32: NPYElement { public static var npyDescr: String { "<i4" } }
extension Int64: NPYElement { public static var npyDescr: String { "<i8" } }
