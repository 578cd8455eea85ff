/// Builds a safetensors file: tensors are copied in as they are added (so the caller's buffers
/// may change right after), laid out back to back in that order, and written out in one go.
public struct SafeTensorsWriter {
    public var metadata: [String: String]
    /// When set, the written metadata also holds `data_crc32` and `header_crc32` (see `Checksum`),
    /// replacing any values of those keys in `metadata`.
    public var includesChecksums: Bool

    public private(set) var tensors: [TensorEntry] = []
    private var data: [UInt8] = []
    private var names = Set<String>()

    public init(metadata: [String: String] = [:], includesChecksums: Bool = false) {
        self.metadata = metadata
        self.includesChecksums = includesChecksums
    }

    /// Bytes of tensor data added so far.
    public var dataByteCount: Int { data.count }

    /// Avoids regrowing the data buffer when the total size is known up front.
    public mutating func reserveDataCapacity(_ bytes: Int) { data.reserveCapacity(bytes) }

    public mutating func add(name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
        try add(name: name, shape: shape, values: floats)
    }

    public mutating func add<T: SafeTensorsScalar>(name: String, shape: [Int], values: [T]) throws {
        try values.withUnsafeBufferPointer { try add(name: name, shape: shape, values: $0) }
    }

    public mutating func add<T: SafeTensorsScalar>(name: String, shape: [Int], values: UnsafeBufferPointer<T>) throws {
        try add(name: name, dtype: T.dtype, shape: shape, bytes: UnsafeRawBufferPointer(values))
        #if _endian(big)
        data.withUnsafeMutableBytes { all in
            SafeTensorsFile.swapBytes(UnsafeMutableRawBufferPointer(rebasing: all[tensors.last!.range]), width: MemoryLayout<T>.size)
        }
        #endif
    }

    /// Adds a tensor from bytes already in the file's layout (little-endian, row-major).
    public mutating func add(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        func error(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: "SafeTensorsWriter", problem: problem) }
        if name == HeaderDecoder.metadataKey { throw error("tensor name '__metadata__' is reserved for metadata") }
        if names.contains(name) { throw error("tensor \(name.quotedForMessage) added twice") }
        var elements = 1
        for d in shape {
            guard d >= 0 else { throw error("tensor \(name.quotedForMessage) has negative dimension in shape \(shape)") }
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw error("tensor \(name.quotedForMessage) shape \(shape) overflows") }
            elements = p
        }
        guard let expected = dtype.byteCount(elements: elements), expected == bytes.count else {
            throw error("tensor \(name.quotedForMessage): \(dtype.rawValue) with shape \(shape) needs \(dtype.byteCount(elements: elements).map(String.init) ?? "a non-whole number of") bytes, got \(bytes.count)")
        }
        let begin = data.count
        data.append(contentsOf: bytes)
        names.insert(name)
        tensors.append(TensorEntry(name: name, dtype: dtype, shape: shape, range: begin..<data.count))
    }

    /// What `writeAtomically` wrote.
    public struct Written: Sendable {
        public let byteCount: Int
        /// The `data_crc32` stored in the metadata; nil unless `includesChecksums`.
        public let dataCRC32: UInt32?
    }

    /// The header bytes (length prefix included) that go before the data, and the data checksum.
    private func headerPrefix() throws -> (bytes: [UInt8], dataCRC32: UInt32?) {
        var meta = metadata
        var dataCRC: UInt32?
        if includesChecksums {
            let crc = data.withUnsafeBytes { Checksum.crc32($0) }
            meta[Checksum.dataKey] = Checksum.hex(crc)
            dataCRC = crc
        }
        var encoded = HeaderEncoder.encode(metadata: meta, tensors: tensors, headerChecksumPlaceholder: includesChecksums)
        if let r = encoded.headerChecksumRange {
            let crc = encoded.bytes.withUnsafeBytes { all in
                Checksum.crc32(UnsafeRawBufferPointer(rebasing: all[r.upperBound...]),
                               continuing: Checksum.crc32(UnsafeRawBufferPointer(rebasing: all[..<r.lowerBound])))
            }
            encoded.bytes.replaceSubrange(r, with: Array(Checksum.hex(crc).utf8))
        }
        let n = encoded.bytes.count
        guard n <= SafeTensorsFile.maxHeaderLength else {
            throw SafeTensorsError(file: "SafeTensorsWriter", problem: "header would be \(n) bytes, over the \(SafeTensorsFile.maxHeaderLength)-byte limit readers enforce")
        }
        var out = [UInt8]()
        out.reserveCapacity(8 + n)
        withUnsafeBytes(of: UInt64(n).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: encoded.bytes)
        return (out, dataCRC)
    }

    /// The whole file in memory.
    public func serialize() throws -> [UInt8] {
        var out = try headerPrefix().bytes
        out.append(contentsOf: data)
        return out
    }

    /// Writes the file so that `path` holds either its old contents or the complete new file,
    /// whatever happens (see `AtomicFile`).
    @discardableResult
    public func writeAtomically(to path: String) throws -> Written {
        let prefix = try headerPrefix()
        try prefix.bytes.withUnsafeBytes { head in
            try data.withUnsafeBytes { body in
                try AtomicFile.write([head, body], to: path)
            }
        }
        return Written(byteCount: prefix.bytes.count + data.count, dataCRC32: prefix.dataCRC32)
    }
}
