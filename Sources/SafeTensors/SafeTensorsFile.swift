import SystemMemory

/// A safetensors file, validated in full when it is read: the header is checked before the data
/// is read, and no tensor byte is handed out until the layout is known to be sound.
public struct SafeTensorsFile {
    /// Headers above this size are refused before they are read (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    /// The path, or the `source` given to `parse`; used in every error.
    public let source: String
    /// In file order: by data offset.
    public let tensors: [TensorEntry]
    public let metadata: [String: String]
    /// N, the JSON header's length in bytes (padding included).
    public let headerLength: Int
    /// State of `header_crc32`, computed while the header was parsed.
    public let headerChecksum: ChecksumState

    let storage: DataStorage
    private let index: [String: Int]

    /// Bytes after the header.
    public var dataLength: Int { storage.count }

    // MARK: Reading

    public static func read(path: String) throws -> SafeTensorsFile {
        let file = try PosixFile.openForReading(path)
        defer { file.closeFile() }
        let size = try file.regularFileSize()
        var prefix: UInt64 = 0
        guard size >= 8 else {
            throw SafeTensorsError(file: path, problem: "file has \(size) bytes; a safetensors file starts with an 8-byte header length")
        }
        try withUnsafeMutableBytes(of: &prefix) { try file.read(into: $0.baseAddress!, count: 8, at: 0) }
        let n = try checkHeaderLength(UInt64(littleEndian: prefix), fileSize: size, source: path)
        var header = [UInt8](repeating: 0, count: n)
        if n > 0 { try header.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: n, at: 8) } }
        let decoded = try header.withUnsafeBufferPointer {
            try HeaderDecoder.decode($0, dataLength: size - 8 - n, source: path)
        }
        // The layout is sound, so the allocation below is exactly what the header promised.
        if let limit = MemoryLimit.exceeded(by: size) {
            throw SafeTensorsError(file: path, problem: "\(MemoryLimit.format(size)) to read, more than the \(limit.description) this process has left")
        }
        let storage = DataStorage(count: size - 8 - n)
        if storage.count > 0 { try file.read(into: storage.base, count: storage.count, at: 8 + n) }
        return SafeTensorsFile(source: path, decoded: decoded, headerLength: n, storage: storage)
    }

    public static func parse(bytes: [UInt8], source: String) throws -> SafeTensorsFile {
        guard bytes.count >= 8 else {
            throw SafeTensorsError(file: source, problem: "file has \(bytes.count) bytes; a safetensors file starts with an 8-byte header length")
        }
        var prefix: UInt64 = 0
        for k in 0..<8 { prefix |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        let n = try checkHeaderLength(prefix, fileSize: bytes.count, source: source)
        return try bytes.withUnsafeBufferPointer { all in
            let decoded = try HeaderDecoder.decode(UnsafeBufferPointer(rebasing: all[8..<(8 + n)]),
                                                   dataLength: all.count - 8 - n, source: source)
            let storage = DataStorage(count: all.count - 8 - n)
            if storage.count > 0 {
                storage.base.copyMemory(from: all.baseAddress! + 8 + n, byteCount: storage.count)
            }
            return SafeTensorsFile(source: source, decoded: decoded, headerLength: n, storage: storage)
        }
    }

    /// The header length must be within the limit and inside the file; checked before anything is
    /// allocated for it, so a hostile length (say 2^40) costs nothing.
    private static func checkHeaderLength(_ n: UInt64, fileSize: Int, source: String) throws -> Int {
        if n > UInt64(maxHeaderLength) {
            throw SafeTensorsError(file: source, problem: "not a safetensors file, or a damaged one: header length \(n) exceeds the limit of \(maxHeaderLength) bytes")
        }
        if n > UInt64(fileSize - 8) {
            throw SafeTensorsError(file: source, problem: "header length \(n) runs past the end of the file (\(fileSize) bytes, so at most \(fileSize - 8))")
        }
        return Int(n)
    }

    private init(source: String, decoded: DecodedHeader, headerLength: Int, storage: DataStorage) {
        self.source = source
        self.tensors = decoded.tensors
        self.metadata = decoded.metadata
        self.headerLength = headerLength
        self.headerChecksum = decoded.headerChecksum
        self.storage = storage
        var index: [String: Int] = [:]
        for (i, t) in decoded.tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    // MARK: Access

    public func entry(_ name: String) -> TensorEntry? { index[name].map { tensors[$0] } }

    public func entry(_ name: String, dtype: DType) throws -> TensorEntry {
        guard let e = entry(name) else {
            throw SafeTensorsError(file: source, problem: "no tensor named \(name.quotedForMessage)")
        }
        guard e.dtype == dtype else {
            throw SafeTensorsError(file: source, problem: "tensor \(name.quotedForMessage) has dtype \(e.dtype.rawValue); expected \(dtype.rawValue)")
        }
        return e
    }

    /// The raw little-endian bytes of a tensor, without copying.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let e = entry(name) else {
            throw SafeTensorsError(file: source, problem: "no tensor named \(name.quotedForMessage)")
        }
        return try body(UnsafeRawBufferPointer(rebasing: storage.bytes[e.range]))
    }

    /// The whole data section (what `data_crc32` covers).
    public func withDataSection<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(storage.bytes)
    }

    /// An F32 tensor's values without copying when its offset is 4-byte aligned (always, for files
    /// this module writes) on a little-endian host; otherwise through a temporary copy.
    public func withFloats<R>(_ name: String, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        try withValues(name, as: Float.self, body)
    }

    public func withValues<T: SafeTensorsScalar, R>(_ name: String, as type: T.Type,
                                                    _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        let e = try entry(name, dtype: T.dtype)
        let count = e.byteCount / MemoryLayout<T>.stride
        let start = storage.base + e.range.lowerBound
        #if _endian(little)
        if Int(bitPattern: start) % MemoryLayout<T>.alignment == 0 {
            return try start.withMemoryRebound(to: T.self, capacity: count) {
                try body(UnsafeBufferPointer(start: $0, count: count))
            }
        }
        #endif
        let copy = try values(name, as: type)
        return try copy.withUnsafeBufferPointer(body)
    }

    public func floats(_ name: String) throws -> [Float] { try values(name, as: Float.self) }
    public func doubles(_ name: String) throws -> [Double] { try values(name, as: Double.self) }

    /// A copy of a tensor's values; the tensor's dtype must be `T.dtype`.
    public func values<T: SafeTensorsScalar>(_ name: String, as type: T.Type) throws -> [T] {
        let e = try entry(name, dtype: T.dtype)
        let count = e.byteCount / MemoryLayout<T>.stride
        let src = UnsafeRawBufferPointer(rebasing: storage.bytes[e.range])
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            // memcpy into typed storage: no alignment requirement on the source.
            UnsafeMutableRawBufferPointer(out).copyMemory(from: src)
            #if _endian(big)
            Self.swapBytes(UnsafeMutableRawBufferPointer(out), width: MemoryLayout<T>.size)
            #endif
            initialized = count
        }
    }

    #if _endian(big)
    static func swapBytes(_ buffer: UnsafeMutableRawBufferPointer, width: Int) {
        guard width > 1 else { return }
        var i = 0
        while i + width <= buffer.count {
            for k in 0..<(width / 2) { buffer.swapAt(i + k, i + width - 1 - k) }
            i += width
        }
    }
    #endif

    // MARK: Checksums

    /// Recomputes `data_crc32` over the data section (about 5 ms per 13 MB) and reports it with the
    /// header checksum found while parsing.
    public func verifyChecksums() -> ChecksumReport {
        let data: ChecksumState
        if let stored = metadata[Checksum.dataKey] {
            if let expected = Checksum.parseHex(stored) {
                let computed = Checksum.crc32(storage.bytes)
                data = computed == expected ? .verified(computed) : .mismatch(stored: expected, computed: computed)
            } else {
                data = .malformed("\(Checksum.dataKey) is \(stored.quotedForMessage); expected 8 lowercase hex digits")
            }
        } else {
            data = .absent
        }
        return ChecksumReport(data: data, header: headerChecksum)
    }
}
