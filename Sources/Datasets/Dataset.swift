import Basics
/// Which part of a dataset to load.
public enum Split: String, CaseIterable {
    case train, test
}

/// Samples kept compactly, with optional integer labels.
///
/// Pixel data stays `UInt8` (47 MB for Fashion-MNIST's training set instead of 188 MB as Float)
/// and becomes Float only when a batch row is written; other data is stored as Float. A subset
/// shares its parent's storage.
public struct Dataset {
    enum Storage {
        case bytes([UInt8])
        case floats([Float])
    }

    public let name: String
    public let count: Int
    /// [28, 28] for images, [d] for tables.
    public let sampleShape: [Int]
    /// Values per sample: the product of `sampleShape`.
    public let dimension: Int
    public let labels: [Int32]?

    let storage: Storage
    /// Index in `storage` of this dataset's first sample (non-zero for subsets).
    let firstSample: Int

    /// A dataset of pixel bytes (`count x dimension` values, row-major), scaled by 1/255 when read.
    public init(name: String, sampleShape: [Int], bytes: [UInt8], labels: [Int32]? = nil) throws {
        let dimension = try Dataset.check(name: name, sampleShape: sampleShape, values: bytes.count, labels: labels)
        self.init(name: name, sampleShape: sampleShape, dimension: dimension, labels: labels,
                  storage: .bytes(bytes), firstSample: 0, count: dimension == 0 ? 0 : bytes.count / dimension)
    }

    /// A dataset of Float values (`count x dimension`, row-major), used as they are.
    /// Every value must be finite.
    public init(name: String, sampleShape: [Int], floats: [Float], labels: [Int32]? = nil) throws {
        let dimension = try Dataset.check(name: name, sampleShape: sampleShape, values: floats.count, labels: labels)
        if let bad = floats.firstIndex(where: { !$0.isFinite }) {
            let kind = floats[bad].isNaN ? "NaN" : "infinity"
            throw DataError(name, "\(kind) in float data at sample \(bad / dimension), element \(bad % dimension); expected finite values")
        }
        self.init(name: name, sampleShape: sampleShape, dimension: dimension, labels: labels,
                  storage: .floats(floats), firstSample: 0, count: floats.count / dimension)
    }

    /// For generators that build valid storage themselves.
    init(unchecked name: String, sampleShape: [Int], storage: Storage, labels: [Int32]?) {
        let dimension = sampleShape.reduce(1, *)
        let values: Int
        switch storage {
        case .bytes(let b): values = b.count
        case .floats(let f): values = f.count
        }
        self.init(name: name, sampleShape: sampleShape, dimension: dimension, labels: labels,
                  storage: storage, firstSample: 0, count: values / dimension)
    }

    private init(name: String, sampleShape: [Int], dimension: Int, labels: [Int32]?,
                 storage: Storage, firstSample: Int, count: Int) {
        self.name = name
        self.sampleShape = sampleShape
        self.dimension = dimension
        self.labels = labels
        self.storage = storage
        self.firstSample = firstSample
        self.count = count
    }

    private static func check(name: String, sampleShape: [Int], values: Int, labels: [Int32]?) throws -> Int {
        guard !sampleShape.isEmpty, sampleShape.allSatisfy({ $0 > 0 }) else {
            throw DataError(name, "sample shape \(sampleShape.shapeText) is invalid; expected positive dimensions")
        }
        let dimension = try CheckedSize.product(sampleShape, source: name, what: "sample shape")
        guard values % dimension == 0 else {
            throw DataError(name, "\(values) values do not divide into samples of \(sampleShape.shapeText)")
        }
        guard values > 0 else { throw DataError(name, "no samples; expected at least one") }
        if let labels, labels.count != values / dimension {
            throw DataError(name, "count mismatch: \(values / dimension) samples but \(labels.count) labels")
        }
        return dimension
    }

    /// Whether samples are stored as bytes (pixels scaled by 1/255 on reading).
    public var storesBytes: Bool {
        if case .bytes = storage { return true }
        return false
    }

    /// Writes sample `index` as Float into dst[0..<dimension]: bytes as x/255, floats as they are.
    public func copySample(_ index: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < count, "sample index \(index) outside 0..<\(count)")
        let offset = (firstSample + index) * dimension
        switch storage {
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { src in
                Dataset.byteToUnit.withUnsafeBufferPointer { table in
                    for i in 0..<dimension { dst[i] = table[Int(src[offset + i])] }
                }
            }
        case .floats(let floats):
            floats.withUnsafeBufferPointer { src in
                dst.update(from: src.baseAddress! + offset, count: dimension)
            }
        }
    }

    /// Writes the samples `indices` as consecutive rows of `dst` (indices.count x dimension).
    public func copySamples<C: Collection>(_ indices: C, into dst: UnsafeMutablePointer<Float>) where C.Element == Int32 {
        var row = dst
        for index in indices {
            copySample(Int(index), into: row)
            row += dimension
        }
    }

    /// Samples `range` (and their labels) as a dataset of their own; the storage is shared.
    public func subset(_ range: Range<Int>) -> Dataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "subset \(range) outside 0..<\(count)")
        return Dataset(name: name, sampleShape: sampleShape, dimension: dimension,
                       labels: labels.map { Array($0[range]) }, storage: storage,
                       firstSample: firstSample + range.lowerBound, count: range.count)
    }

    /// A 64-bit hash of the storage kind, shape, count, contents and labels, for checking that
    /// every rank loaded the same data. FNV-1a over 64-bit words with an xor-shift after each
    /// multiply (plain FNV on whole words never lets high bits reach low ones). One pass, about
    /// 10 ms for Fashion-MNIST's 47 MB in release builds.
    public var fingerprint: UInt64 {
        var hash = Fingerprint()
        hash.add(storesBytes ? 1 : 2)
        hash.add(UInt64(count))
        hash.add(UInt64(sampleShape.count))
        for d in sampleShape { hash.add(UInt64(d)) }
        let range = firstSample * dimension ..< (firstSample + count) * dimension
        switch storage {
        case .bytes(let bytes): bytes[range].withUnsafeBytes { hash.add($0) }
        case .floats(let floats): floats[range].withUnsafeBytes { hash.add($0) }
        }
        if let labels {
            hash.add(UInt64(labels.count))
            labels.withUnsafeBytes { hash.add($0) }
        } else {
            hash.add(UInt64.max)
        }
        return hash.value
    }

    /// x/255 for every byte value, so conversion is a table lookup that matches x/255 exactly.
    private static let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }
}

struct Fingerprint {
    private(set) var value = FNV1a.offsetBasis

    mutating func add(_ word: UInt64) {
        value = FNV1a.step(value, word)
        value ^= value >> 29
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let words = bytes.count / 8
        var h = value
        if let base = bytes.baseAddress {
            for w in 0..<words {
                h = FNV1a.step(h, base.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self))
                h ^= h >> 29
            }
        }
        value = h
        var tail: UInt64 = 0
        for i in (words * 8)..<bytes.count { tail |= UInt64(bytes[i]) << (8 * UInt64(i - words * 8)) }
        add(tail)
        add(UInt64(bytes.count))
    }
}

extension Dataset {
    /// The smallest and largest value a sample can hold, as the model sees it: pixel bytes map into
    /// [0, 1] whatever they are; float data is scanned (one pass, only when asked).
    public var valueRange: ClosedRange<Float> {
        switch storage {
        case .bytes:
            return 0...1
        case .floats(let values):
            let slice = values[(firstSample * dimension)..<((firstSample + count) * dimension)]
            guard var low = slice.first else { return 0...0 }
            var high = low
            for v in slice { low = Swift.min(low, v); high = Swift.max(high, v) }
            return low...high
        }
    }
}
