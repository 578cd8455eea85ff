#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads `.npy` files, versions 1.0, 2.0 and 3.0, in C order, with element types `<f4`, `<f8`,
/// `|u1` (data) and `<i4`, `<i8` (labels). Data must end exactly where the header says.
/// Assumes a little-endian host, like numpy's default files.
public enum NPYReader {
    public static func read(path: String) throws -> NPYArray {
        try parse(try FileBytes.read(path: path), source: path)
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public static func parse(_ file: [UInt8], source: String) throws -> NPYArray {
        guard !file.isEmpty else { throw DataError(source, "empty file, expected an NPY file") }
        guard file.starts(with: magic) || magic.starts(with: file) else {
            throw DataError(source, "wrong magic: expected an NPY file starting 93 'NUMPY', found \(hex(file.prefix(6)))")
        }
        guard file.count >= 10 else {
            throw DataError(source, "truncated: \(file.count) bytes, shorter than the 10-byte NPY preamble")
        }
        let major = file[6], minor = file[7]
        guard (1...3).contains(major), minor == 0 else {
            throw DataError(source, "unsupported NPY version \(major).\(minor); expected 1.0, 2.0 or 3.0")
        }
        let headerStart: Int
        let headerLength: Int
        if major == 1 {
            headerStart = 10
            headerLength = Int(file[8]) | Int(file[9]) << 8
        } else {
            guard file.count >= 12 else {
                throw DataError(source, "truncated: \(file.count) bytes, shorter than the 12-byte NPY \(major).0 preamble")
            }
            headerStart = 12
            headerLength = Int(file[8]) | Int(file[9]) << 8 | Int(file[10]) << 16 | Int(file[11]) << 24
        }
        guard file.count - headerStart >= headerLength else {
            throw DataError(source, "truncated: header declares \(headerLength) bytes, only \(file.count - headerStart) follow the preamble")
        }
        let dataStart = headerStart + headerLength
        let header = try NPYHeader.parse(file[headerStart..<dataStart], source: source)

        guard !header.fortranOrder else {
            throw DataError(source, "fortran_order True (column-major) is not supported; expected C order (save np.ascontiguousarray(a))")
        }
        let count = try CheckedSize.product(header.shape, source: source, what: "NPY shape")
        let itemSize: Int
        switch header.descr {
        case "<f4", "<i4": itemSize = 4
        case "<f8", "<i8": itemSize = 8
        case "|u1", "<u1", "u1": itemSize = 1
        default:
            if header.descr.hasPrefix(">") {
                throw DataError(source, "unsupported dtype '\(header.descr)' (big-endian); expected little-endian <f4, <f8 or |u1")
            }
            throw DataError(source, "unsupported dtype '\(header.descr)'; expected <f4, <f8 or |u1 (or <i4, <i8 for labels)")
        }
        let (expected, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw DataError(source, "NPY shape \(header.shape.shapeText) is too large to address") }
        let found = file.count - dataStart
        guard found >= expected else {
            throw DataError(source, "truncated: shape \(header.shape.shapeText) of \(header.descr) needs \(expected) bytes of data, found \(found)")
        }
        guard found == expected else {
            throw DataError(source, "\(found - expected) unexpected bytes after the \(expected) bytes of data declared by the header")
        }

        let elements: NPYArray.Elements
        switch header.descr {
        case "<f4": elements = .float32(copy(file, from: dataStart, count: count))
        case "<f8": elements = .float64(copy(file, from: dataStart, count: count))
        case "<i4": elements = .int32(copy(file, from: dataStart, count: count))
        case "<i8": elements = .int64(copy(file, from: dataStart, count: count))
        default: elements = .uint8(Array(file[dataStart...]))
        }
        return NPYArray(shape: header.shape, elements: elements)
    }

    /// Reinterprets little-endian bytes as `T` with one memcpy (the data is not aligned in `file`).
    private static func copy<T>(_ file: [UInt8], from offset: Int, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            file.withUnsafeBytes { bytes in
                if count > 0 {
                    memcpy(buffer.baseAddress!, bytes.baseAddress! + offset, count * MemoryLayout<T>.stride)
                }
            }
            initialized = count
        }
    }
}
