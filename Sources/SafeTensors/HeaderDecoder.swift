/// Turns the N header bytes into tensor entries and metadata, checking everything the format
/// demands before any tensor byte is touched: UTF-8, strict JSON (no duplicate keys: the format
/// forbids them, though the reference implementation lets the last one win), an object at the top, known
/// dtypes, non-negative integer shapes and offsets, byte sizes that match dtype × shape (with
/// overflow checks), offsets inside the data section, and tensors that tile the data section
/// exactly (no overlap, no hole, nothing after the last tensor).
struct DecodedHeader {
    /// Ordered by offset (zero-byte tensors that share an offset keep their header order).
    var tensors: [TensorEntry]
    var metadata: [String: String]
    var headerChecksum: ChecksumState
}

enum HeaderDecoder {
    static let metadataKey = "__metadata__"

    /// `dataLength` is the number of bytes after the header; `source` names the file in errors.
    static func decode(_ header: UnsafeBufferPointer<UInt8>, dataLength: Int, source: String) throws -> DecodedHeader {
        func error(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: source, problem: problem) }

        if let bad = firstInvalidUTF8Offset(header) {
            throw error("header is not valid UTF-8 (byte \(bad) of the header, file offset \(8 + bad))")
        }
        // Whitespace may precede the object, as the reference implementation accepts it.
        let first = header.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        guard first == UInt8(ascii: "{") else {
            throw error(first == nil ? "header is empty or blank (length \(header.count)); expected a JSON object"
                                     : "header does not start with '{'; expected a JSON object")
        }
        let root: JSONValue
        do {
            root = try StrictJSONParser.parse(header)
        } catch let e as JSONSyntaxError {
            throw error("header is not valid JSON: \(e.message) (header byte \(e.offset))")
        }
        guard case .object(let members) = root else { throw error("header is not a JSON object") }

        var tensors: [TensorEntry] = []
        var metadata: [String: String] = [:]
        var headerChecksum = ChecksumState.absent
        tensors.reserveCapacity(members.count)
        for (key, value) in members {
            if key == metadataKey {
                switch value {
                case .null: break
                case .object(let pairs):
                    for (k, v) in pairs {
                        guard case .string(let s, let raw) = v else {
                            throw error("__metadata__ value for key \(k.quotedForMessage) is \(v.kindName); metadata values must be strings")
                        }
                        metadata[k] = s
                        if k == Checksum.headerKey {
                            headerChecksum = verifyHeaderChecksum(header, stored: s, raw: raw)
                        }
                    }
                default:
                    throw error("__metadata__ is \(value.kindName); expected an object of strings")
                }
            } else {
                tensors.append(try decodeTensor(key, value, dataLength: dataLength, error: error))
            }
        }
        try checkTiling(&tensors, dataLength: dataLength, error: error)
        return DecodedHeader(tensors: tensors, metadata: metadata, headerChecksum: headerChecksum)
    }

    private static func decodeTensor(_ name: String, _ value: JSONValue, dataLength: Int,
                                     error: (String) -> SafeTensorsError) throws -> TensorEntry {
        let q = name.quotedForMessage
        guard case .object(let fields) = value else {
            throw error("tensor \(q) is \(value.kindName); expected an object with dtype, shape, data_offsets")
        }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (k, v) in fields {
            switch k {
            case "dtype": dtypeValue = v
            case "shape": shapeValue = v
            case "data_offsets": offsetsValue = v
            default: break  // other fields carry no meaning in the format; the reference ignores them too
            }
        }
        guard let dtypeValue else { throw error("tensor \(q) has no dtype") }
        guard let shapeValue else { throw error("tensor \(q) has no shape") }
        guard let offsetsValue else { throw error("tensor \(q) has no data_offsets") }

        guard case .string(let dtypeName, _) = dtypeValue else {
            throw error("dtype of tensor \(q) is \(dtypeValue.kindName); expected a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw error("tensor \(q) has unknown dtype \(dtypeName.quotedForMessage)")
        }
        let shape = try nonNegativeIntegers(shapeValue, what: "shape of tensor \(q)", error: error)
        let offsets = try nonNegativeIntegers(offsetsValue, what: "data_offsets of tensor \(q)", error: error)
        guard offsets.count == 2 else {
            throw error("data_offsets of tensor \(q) has \(offsets.count) entries; expected [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw error("data_offsets of tensor \(q) are [\(begin), \(end)]: begin is after end") }
        guard end <= dataLength else {
            throw error("data_offsets of tensor \(q) are [\(begin), \(end)]: past the end of the data section (\(dataLength) bytes)")
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw error("shape \(shape) of tensor \(q) has too many elements (overflow)") }
            elements = p
        }
        guard let bytes = dtype.byteCount(elements: elements) else {
            throw error("tensor \(q): \(elements) elements of \(dtype.rawValue) do not make a whole number of bytes (or overflow)")
        }
        guard bytes == end - begin else {
            throw error("tensor \(q): dtype \(dtype.rawValue) and shape \(shape) need \(bytes) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return TensorEntry(name: name, dtype: dtype, shape: shape, range: begin..<end)
    }

    private static func nonNegativeIntegers(_ value: JSONValue, what: String,
                                            error: (String) -> SafeTensorsError) throws -> [Int] {
        guard case .array(let items) = value else { throw error("\(what) is \(value.kindName); expected an array of integers") }
        return try items.map { item in
            guard case .number(let n) = item else { throw error("\(what) has entry \(item.kindName); expected a non-negative integer") }
            if n.text.hasPrefix("-") && !n.text.contains(where: { ".eE".contains($0) }) {
                throw error("\(what) has negative entry \(n.text)")
            }
            guard n.isNonNegativeInteger else { throw error("\(what) has entry \(n.text); expected a non-negative integer") }
            guard let v = n.nonNegativeInt else { throw error("\(what) has entry \(n.text), too large") }
            return v
        }
    }

    /// Sorts by offset and demands that each tensor starts where the previous one ended and that
    /// the last one ends at the end of the data section.
    private static func checkTiling(_ tensors: inout [TensorEntry], dataLength: Int,
                                    error: (String) -> SafeTensorsError) throws {
        let order = tensors.indices.sorted {
            let a = tensors[$0].range, b = tensors[$1].range
            if a.lowerBound != b.lowerBound { return a.lowerBound < b.lowerBound }
            if a.upperBound != b.upperBound { return a.upperBound < b.upperBound }
            return $0 < $1
        }
        tensors = order.map { tensors[$0] }
        var position = 0
        var previous: TensorEntry?
        for t in tensors {
            if t.range.lowerBound < position, let p = previous {
                throw error("tensor \(t.name.quotedForMessage) (bytes \(t.range.lowerBound)..<\(t.range.upperBound)) overlaps tensor \(p.name.quotedForMessage) (bytes \(p.range.lowerBound)..<\(p.range.upperBound))")
            }
            if t.range.lowerBound > position {
                throw error("data section has a hole: bytes \(position)..<\(t.range.lowerBound) belong to no tensor (before tensor \(t.name.quotedForMessage))")
            }
            position = t.range.upperBound
            previous = t
        }
        if position != dataLength {
            throw error("data section has \(dataLength) bytes but the tensors cover \(position); bytes \(position)..<\(dataLength) belong to no tensor")
        }
    }

    /// The stored header checksum must sit in the header as exactly 8 lowercase hex digits
    /// (no escapes), so that leaving those 8 bytes out gives the bytes the writer checksummed.
    private static func verifyHeaderChecksum(_ header: UnsafeBufferPointer<UInt8>, stored: String, raw: Range<Int>) -> ChecksumState {
        guard raw.count == 8, let expected = Checksum.parseHex(stored) else {
            return .malformed("\(Checksum.headerKey) is \(stored.quotedForMessage); expected 8 lowercase hex digits")
        }
        let before = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(header)[0..<raw.lowerBound])
        let after = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(header)[raw.upperBound..<header.count])
        let computed = Checksum.crc32(after, continuing: Checksum.crc32(before))
        return computed == expected ? .verified(computed) : .mismatch(stored: expected, computed: computed)
    }
}
