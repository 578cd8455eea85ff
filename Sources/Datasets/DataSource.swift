#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves a `--data` spec to a dataset.
///
/// Specs:
/// - `fashion-mnist`: Debian's `dataset-fashion-mnist` files in `fashionMNISTDirectory`
///   (train: 60,000 images, test: 10,000, 28x28, labels 0...9), read from the `.gz` files.
/// - `mnist`: the same layout under `/usr/share/datasets/mnist`, when present.
/// - a directory of IDX files named like MNIST's: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
///   `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (or `test-` instead of `t10k-`, `.` instead of
///   `-` before `idx`, each optionally `.gz`). Labels are optional.
/// - `file.npy`: N x d or N x h x w, `|u1` (pixels, scaled by 1/255), `<f4` or `<f8` (used as is);
///   integer labels from a sibling `file.labels.npy` (N values) when it exists.
/// - `file.csv`: numeric CSV (see `CSVReader`); a header column `label` gives labels.
/// - `synthetic[:k=3,n=10000,seed=1,edges=hard]`: `SyntheticData` with k factors; the train split is samples
///   0..<n of the stream, the test split the next max(1, n/6).
///
/// A single file has no split of its own: `.test` is its last floor(N/6) samples and `.train` the
/// rest, always the same rows. A file of fewer than 6 samples has no test split: it is used whole
/// for training, and asking for its test split is an error that says so.
public enum DataSource {
    /// Where Debian's `dataset-fashion-mnist` installs; `MPIVAE_FASHION_MNIST_DIR` overrides it.
    public static var fashionMNISTDirectory: String {
        if let override = getenv("MPIVAE_FASHION_MNIST_DIR"), override.pointee != 0 {
            return String(cString: override)
        }
        return "/usr/share/datasets/fashion-mnist"
    }

    public static let mnistDirectory = "/usr/share/datasets/mnist"

    public static func load(_ spec: String, split: Split) throws -> Dataset {
        switch spec {
        case "fashion-mnist":
            let directory = fashionMNISTDirectory
            guard FileBytes.isDirectory(directory) else {
                throw DataError(spec, "directory \(directory) not found; install it with `apt-get install dataset-fashion-mnist`")
            }
            return try loadIDX(directory: directory, split: split, name: "fashion-mnist",
                               imageSide: 28, labelRange: 0...9, requireLabels: true,
                               installHint: "; reinstall it with `apt-get install --reinstall dataset-fashion-mnist`")
        case "mnist":
            guard FileBytes.isDirectory(mnistDirectory) else {
                throw DataError(spec, "directory \(mnistDirectory) not found; pass the path of a directory of MNIST IDX files instead")
            }
            return try loadIDX(directory: mnistDirectory, split: split, name: "mnist",
                               imageSide: 28, labelRange: 0...9, requireLabels: true, installHint: "")
        default:
            break
        }
        if spec == "synthetic" || spec.hasPrefix("synthetic:") {
            return try loadSynthetic(spec, split: split)
        }
        if FileBytes.isDirectory(spec) {
            return try loadIDX(directory: spec, split: split, name: spec, imageSide: nil,
                               labelRange: nil, requireLabels: false, installHint: "")
        }
        let lower = spec.lowercased()
        if lower.hasSuffix(".npy") { return try heldOut(try loadNPY(path: spec), split: split) }
        if lower.hasSuffix(".csv") { return try heldOut(try loadCSV(path: spec), split: split) }
        if FileBytes.exists(spec) {
            throw DataError(spec, "unknown data file type; expected a directory of IDX files, a .npy file or a .csv file")
        }
        if spec.contains("/") {
            throw DataError(spec, "no such file or directory")
        }
        throw DataError(spec, "unknown dataset; expected fashion-mnist, mnist, synthetic[:k=3,n=10000,seed=1], a directory of IDX files, a .npy file or a .csv file")
    }

    /// Specs that load on this machine, for `mpivae info`.
    public static func availableDatasets() -> [String] {
        var found: [String] = []
        for (name, directory) in [("fashion-mnist", fashionMNISTDirectory), ("mnist", mnistDirectory)] {
            let complete = ["train", "t10k"].allSatisfy { prefix in
                ["images", "labels"].allSatisfy { idxFile(directory: directory, prefix: prefix, kind: $0) != nil }
            }
            if complete { found.append(name) }
        }
        found.append("synthetic")
        return found
    }

    // MARK: IDX directories

    static func idxFile(directory: String, prefix: String, kind: String) -> String? {
        let rank = kind == "images" ? "idx3" : "idx1"
        for p in prefix == "t10k" ? ["t10k", "test"] : [prefix] {
            for separator in ["-", "."] {
                let base = "\(directory)/\(p)-\(kind)\(separator)\(rank)-ubyte"
                for candidate in [base, base + ".gz"] where FileBytes.exists(candidate) {
                    return candidate
                }
            }
        }
        return nil
    }

    static func loadIDX(directory: String, split: Split, name: String, imageSide: Int?,
                        labelRange: ClosedRange<Int32>?, requireLabels: Bool, installHint: String) throws -> Dataset {
        let prefix = split == .train ? "train" : "t10k"
        guard let imagesPath = idxFile(directory: directory, prefix: prefix, kind: "images") else {
            throw DataError(name, "missing \(directory)/\(prefix)-images-idx3-ubyte[.gz]\(installHint)")
        }
        let (shape, pixels) = try IDXReader.read(path: imagesPath)
        guard shape.count == 3 else {
            throw DataError(imagesPath, "wrong dimensions: expected images of shape N x rows x cols, found \(shape.shapeText)")
        }
        if let side = imageSide, shape[1] != side || shape[2] != side {
            throw DataError(imagesPath, "wrong dimensions: expected \(side)x\(side) images, found \(shape[1])x\(shape[2])")
        }
        guard shape[0] > 0 else { throw DataError(imagesPath, "no images; expected at least one") }
        guard shape[1] > 0, shape[2] > 0 else {
            throw DataError(imagesPath, "wrong dimensions: images of \(shape[1])x\(shape[2]) pixels")
        }

        var labels: [Int32]? = nil
        if let labelsPath = idxFile(directory: directory, prefix: prefix, kind: "labels") {
            let (labelShape, labelBytes) = try IDXReader.read(path: labelsPath)
            guard labelShape.count == 1 else {
                throw DataError(labelsPath, "wrong dimensions: expected a 1-dimensional label file, found \(labelShape.shapeText)")
            }
            guard labelShape[0] == shape[0] else {
                throw DataError(labelsPath, "image/label count mismatch: \(labelShape[0]) labels for \(shape[0]) images in \(imagesPath)")
            }
            if let range = labelRange, let bad = labelBytes.firstIndex(where: { !range.contains(Int32($0)) }) {
                throw DataError(labelsPath, "label \(labelBytes[bad]) at index \(bad) outside \(range.lowerBound)...\(range.upperBound)")
            }
            labels = labelBytes.map { Int32($0) }
        } else if requireLabels {
            throw DataError(name, "missing \(directory)/\(prefix)-labels-idx1-ubyte[.gz]\(installHint)")
        }
        return try Dataset(name: "\(name)/\(split.rawValue)", sampleShape: [shape[1], shape[2]],
                           bytes: pixels, labels: labels)
    }

    // MARK: single files

    static func loadNPY(path: String) throws -> Dataset {
        let array = try NPYReader.read(path: path)
        guard array.shape.count == 2 || array.shape.count == 3 else {
            throw DataError(path, "wrong dimensions: expected N x d or N x rows x cols, found shape \(array.shape.shapeText)")
        }
        let sampleShape = Array(array.shape.dropFirst())
        guard array.shape[0] > 0 else { throw DataError(path, "no samples; expected at least one") }
        guard sampleShape.allSatisfy({ $0 > 0 }) else {
            throw DataError(path, "wrong dimensions: samples of shape \(sampleShape.shapeText)")
        }
        let labels = try loadLabels(siblingOf: path, count: array.shape[0])
        switch array.elements {
        case .uint8(let bytes):
            return try Dataset(name: path, sampleShape: sampleShape, bytes: bytes, labels: labels)
        case .float32(let floats):
            return try Dataset(name: path, sampleShape: sampleShape, floats: floats, labels: labels)
        case .float64(let doubles):
            let d = sampleShape.reduce(1, *)
            if let bad = doubles.firstIndex(where: { $0.isFinite && !Float($0).isFinite }) {
                throw DataError(path, "value \(doubles[bad]) at sample \(bad / d), element \(bad % d) is out of Float range")
            }
            return try Dataset(name: path, sampleShape: sampleShape, floats: doubles.map { Float($0) }, labels: labels)
        case .int32, .int64:
            throw DataError(path, "unsupported dtype '\(array.descr)' for data; expected <f4, <f8 or |u1")
        }
    }

    /// `x.npy`'s labels live in `x.labels.npy`: 1-dimensional, integer, one per sample.
    static func loadLabels(siblingOf path: String, count: Int) throws -> [Int32]? {
        let labelsPath = String(path.dropLast(4)) + ".labels.npy"
        guard FileBytes.exists(labelsPath) else { return nil }
        let array = try NPYReader.read(path: labelsPath)
        guard array.shape.count == 1 else {
            throw DataError(labelsPath, "wrong dimensions: expected N labels, found shape \(array.shape.shapeText)")
        }
        guard array.shape[0] == count else {
            throw DataError(labelsPath, "count mismatch: \(array.shape[0]) labels for \(count) samples in \(path)")
        }
        let values: [Int64]
        switch array.elements {
        case .uint8(let v): values = v.map { Int64($0) }
        case .int32(let v): values = v.map { Int64($0) }
        case .int64(let v): values = v
        case .float32, .float64:
            throw DataError(labelsPath, "unsupported dtype '\(array.descr)' for labels; expected |u1, <i4 or <i8")
        }
        if let bad = values.firstIndex(where: { $0 < 0 || $0 > Int64(Int32.max) }) {
            throw DataError(labelsPath, "label \(values[bad]) at index \(bad) is not a non-negative 32-bit integer")
        }
        return values.map { Int32($0) }
    }

    static func loadCSV(path: String) throws -> Dataset {
        let table = try CSVReader.readTable(path: path)
        return try Dataset(name: path, sampleShape: [table.cols], floats: table.values, labels: table.labels)
    }

    /// The deterministic train/test cut of a single file: the last floor(N/6) samples are held out.
    static func heldOut(_ data: Dataset, split: Split) throws -> Dataset {
        let testCount = data.count / 6
        guard testCount > 0 else {
            // Testing on the training rows would report a test figure that is not one.
            guard split == .train else {
                throw DataError(data.name, "\(data.count) sample\(data.count == 1 ? "" : "s") are too few to split into training and test data (the last sixth is held out for testing, so at least 6 are needed); add samples, or train with --no-eval --no-explain")
            }
            return data
        }
        switch split {
        case .train: return data.subset(0 ..< data.count - testCount)
        case .test: return data.subset(data.count - testCount ..< data.count)
        }
    }

    // MARK: synthetic

    /// Options of a `synthetic:k=3,n=10000,seed=1` spec.
    public struct SyntheticOptions: Equatable {
        public var factors = 3
        public var count = 10_000
        public var seed: UInt64 = 1
        /// Grid-aligned 8x8 squares with sharp edges unless `edges=soft` (see `SyntheticData`).
        public var hardEdges = true
        /// `clusters=c`: `SyntheticData.makeClusters` instead of factors (k is then unused).
        public var clusters: Int?
    }

    public static func syntheticOptions(_ spec: String) throws -> SyntheticOptions {
        var options = SyntheticOptions()
        guard let colon = spec.firstIndex(of: ":") else { return options }
        for item in spec[spec.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw DataError(spec, "expected key=value options (k, n, seed, edges), found '\(item)'")
            }
            let key = parts[0].trimmingBlanks, value = parts[1].trimmingBlanks
            switch key {
            case "k":
                guard let k = Int(value), (1...SyntheticData.maximumFactors).contains(k) else {
                    throw DataError(spec, "k (factors) must be an integer in 1...\(SyntheticData.maximumFactors), found '\(value)'")
                }
                options.factors = k
            case "n":
                guard let n = Int(value), n >= 1, n <= 10_000_000 else {
                    throw DataError(spec, "n (samples) must be an integer in 1...10000000, found '\(value)'")
                }
                options.count = n
            case "seed":
                guard let s = UInt64(value) else {
                    throw DataError(spec, "seed must be a non-negative integer, found '\(value)'")
                }
                options.seed = s
            case "clusters":
                guard let c = Int(value), (1...SyntheticData.maximumFactors).contains(c) else {
                    throw DataError(spec, "clusters must be an integer in 1...\(SyntheticData.maximumFactors), found '\(value)'")
                }
                options.clusters = c
            case "edges":
                guard value == "soft" || value == "hard" else {
                    throw DataError(spec, "edges must be soft or hard, found '\(value)'")
                }
                options.hardEdges = value == "hard"
            default:
                throw DataError(spec, "unknown option '\(key)'; expected k, n, seed, edges or clusters")
            }
        }
        return options
    }

    static func loadSynthetic(_ spec: String, split: Split) throws -> Dataset {
        let o = try syntheticOptions(spec)
        if let c = o.clusters {
            return split == .train ? SyntheticData.makeClusters(count: o.count, clusters: c, seed: o.seed)
                : SyntheticData.makeClusters(count: max(1, o.count / 6), clusters: c, seed: o.seed, firstIndex: o.count)
        }
        switch split {
        case .train:
            return SyntheticData.make(count: o.count, factors: o.factors, seed: o.seed, hardEdges: o.hardEdges)
        case .test:
            return SyntheticData.make(count: max(1, o.count / 6), factors: o.factors, seed: o.seed, firstIndex: o.count,
                                      hardEdges: o.hardEdges)
        }
    }
}

extension Substring {
    var trimmingBlanks: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
