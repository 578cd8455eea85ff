import Foundation
import XCTest
@testable import Datasets

final class DataSourceTests: XCTestCase {
    func requireFashionMNIST() throws {
        let dir = DataSource.fashionMNISTDirectory
        guard FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("dataset-fashion-mnist is not installed in \(dir)")
        }
    }

    func testFashionMNISTLoadsBothSplits() throws {
        try requireFashionMNIST()
        let start = Date()
        let train = try DataSource.load("fashion-mnist", split: .train)
        let seconds = Date().timeIntervalSince(start)
        let test = try DataSource.load("fashion-mnist", split: .test)
        print("fashion-mnist train loaded in \(String(format: "%.3f", seconds)) s")

        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(train.sampleShape, [28, 28])
        XCTAssertEqual(test.dimension, 784)
        XCTAssertTrue(train.storesBytes)
        let trainLabels = try XCTUnwrap(train.labels)
        let testLabels = try XCTUnwrap(test.labels)
        XCTAssertEqual(Array(trainLabels.prefix(10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        XCTAssertEqual(Array(testLabels.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        XCTAssertTrue(trainLabels.allSatisfy { (0...9).contains($0) })
        // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
        for c in Int32(0)...9 {
            XCTAssertEqual(trainLabels.filter { $0 == c }.count, 6_000)
            XCTAssertEqual(testLabels.filter { $0 == c }.count, 1_000)
        }

        // Spot values, checked independently with Python's gzip module: image 0's pixel sum and
        // row 14, and the whole training set's pixel sum.
        var image = [Float](repeating: 0, count: 784)
        train.copySample(0, into: &image)
        XCTAssertEqual(image.reduce(0) { $0 + Double($1 * 255).rounded() }, 76_247)
        let row14: [Float] = [0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77, 0]
        XCTAssertEqual(image[14 * 28 ..< 15 * 28].map { ($0 * 255).rounded() }, row14)
        test.copySample(0, into: &image)
        XCTAssertEqual(image.reduce(0) { $0 + Double($1 * 255).rounded() }, 33_456)
        var total = 0
        for i in 0..<train.count {
            train.copySample(i, into: &image)
            for v in image { total += Int((v * 255).rounded()) }
        }
        XCTAssertEqual(total, 3_431_114_169)
        let hashStart = Date()
        let trainHash = train.fingerprint
        print("fashion-mnist train fingerprint in \(String(format: "%.4f", Date().timeIntervalSince(hashStart))) s")
        XCTAssertEqual(trainHash, train.fingerprint)
        XCTAssertNotEqual(trainHash, test.fingerprint)
        XCTAssertTrue(DataSource.availableDatasets().contains("fashion-mnist"))
    }

    func testUnknownSpecsAndMissingDirectories() throws {
        assertDataError(try DataSource.load("cifar-10", split: .train), contains: ["cifar-10", "unknown dataset", "fashion-mnist"])
        assertDataError(try DataSource.load("/no/such/dir", split: .train), contains: ["/no/such/dir", "no such file or directory"])
        assertDataError(try DataSource.load("/no/such.npy", split: .train), contains: ["/no/such.npy", "cannot open"])
        let dir = try makeTemporaryDirectory(self)
        try writeFile([1, 2, 3], to: dir + "/data.bin")
        assertDataError(try DataSource.load(dir + "/data.bin", split: .train), contains: ["data.bin", "unknown data file type"])

        setenv("MPIVAE_FASHION_MNIST_DIR", dir + "/absent", 1)
        defer { unsetenv("MPIVAE_FASHION_MNIST_DIR") }
        assertDataError(try DataSource.load("fashion-mnist", split: .train),
                        contains: ["fashion-mnist", dir + "/absent", "apt-get install dataset-fashion-mnist"])
        XCTAssertFalse(DataSource.availableDatasets().contains("fashion-mnist"))
        XCTAssertTrue(DataSource.availableDatasets().contains("synthetic"))
        setenv("MPIVAE_FASHION_MNIST_DIR", dir, 1)
        assertDataError(try DataSource.load("fashion-mnist", split: .test),
                        contains: ["fashion-mnist", "missing", "t10k-images-idx3-ubyte"])
    }

    /// Writes an MNIST-style directory with `count` 3x3 images per split.
    func writeIDXDirectory(_ dir: String, images: [UInt8], shape: [Int], labels: [UInt8]?, gzip: Bool) throws {
        let suffix = gzip ? ".gz" : ""
        let imageFile = idxBytes(shape: shape, data: images)
        try writeFile(gzip ? gzipBytes(imageFile) : imageFile, to: dir + "/train-images-idx3-ubyte" + suffix)
        if let labels {
            let labelFile = idxBytes(shape: [labels.count], data: labels)
            try writeFile(gzip ? gzipBytes(labelFile) : labelFile, to: dir + "/train-labels-idx1-ubyte" + suffix)
        }
    }

    func testIDXDirectoryRawAndGzip() throws {
        for gzip in [false, true] {
            let dir = try makeTemporaryDirectory(self)
            try writeIDXDirectory(dir, images: [UInt8](0..<18), shape: [2, 3, 3], labels: [4, 200], gzip: gzip)
            let data = try DataSource.load(dir, split: .train)
            XCTAssertEqual(data.count, 2)
            XCTAssertEqual(data.sampleShape, [3, 3])
            XCTAssertEqual(data.labels ?? [], [4, 200])
            var image = [Float](repeating: 0, count: 9)
            data.copySample(1, into: &image)
            XCTAssertEqual(image[8], 17 / 255)
            assertDataError(try DataSource.load(dir, split: .test), contains: [dir, "missing", "t10k-images"])
        }
    }

    func testIDXDirectoryValidation() throws {
        let mismatch = try makeTemporaryDirectory(self)
        try writeIDXDirectory(mismatch, images: [UInt8](0..<18), shape: [2, 3, 3], labels: [1, 2, 3], gzip: true)
        assertDataError(try DataSource.load(mismatch, split: .train),
                        contains: [mismatch + "/train-labels-idx1-ubyte.gz", "image/label count mismatch", "3 labels for 2 images"])

        let flat = try makeTemporaryDirectory(self)
        try writeIDXDirectory(flat, images: [UInt8](0..<18), shape: [2, 9], labels: nil, gzip: false)
        assertDataError(try DataSource.load(flat, split: .train),
                        contains: [flat + "/train-images-idx3-ubyte", "wrong dimensions", "found 2x9"])

        let twoDLabels = try makeTemporaryDirectory(self)
        try writeIDXDirectory(twoDLabels, images: [UInt8](0..<18), shape: [2, 3, 3], labels: nil, gzip: false)
        try writeFile(idxBytes(shape: [2, 1], data: [0, 1]), to: twoDLabels + "/train-labels-idx1-ubyte")
        assertDataError(try DataSource.load(twoDLabels, split: .train), contains: ["train-labels-idx1-ubyte", "wrong dimensions"])

        // Labels are optional in a plain directory.
        let unlabeled = try makeTemporaryDirectory(self)
        try writeIDXDirectory(unlabeled, images: [UInt8](0..<18), shape: [2, 3, 3], labels: nil, gzip: false)
        XCTAssertNil(try DataSource.load(unlabeled, split: .train).labels)

        // The fashion-mnist spec checks image size and label range.
        let wrongSize = try makeTemporaryDirectory(self)
        try writeIDXDirectory(wrongSize, images: [UInt8](0..<18), shape: [2, 3, 3], labels: [0, 1], gzip: true)
        setenv("MPIVAE_FASHION_MNIST_DIR", wrongSize, 1)
        defer { unsetenv("MPIVAE_FASHION_MNIST_DIR") }
        assertDataError(try DataSource.load("fashion-mnist", split: .train), contains: ["train-images-idx3-ubyte.gz", "expected 28x28", "found 3x3"])
        let badLabel = try makeTemporaryDirectory(self)
        try writeIDXDirectory(badLabel, images: [UInt8](repeating: 1, count: 2 * 784), shape: [2, 28, 28], labels: [0, 10], gzip: true)
        setenv("MPIVAE_FASHION_MNIST_DIR", badLabel, 1)
        assertDataError(try DataSource.load("fashion-mnist", split: .train), contains: ["train-labels-idx1-ubyte.gz", "label 10 at index 1", "0...9"])
        try FileManager.default.removeItem(atPath: badLabel + "/train-labels-idx1-ubyte.gz")
        assertDataError(try DataSource.load("fashion-mnist", split: .train), contains: ["missing", "train-labels-idx1-ubyte"])
    }

    func testEmptyFilesAreNamed() throws {
        let dir = try makeTemporaryDirectory(self)
        for name in ["e.npy", "e.csv", "train-images-idx3-ubyte"] { try writeFile([], to: dir + "/" + name) }
        assertDataError(try DataSource.load(dir + "/e.npy", split: .train), contains: [dir + "/e.npy", "empty file"])
        assertDataError(try DataSource.load(dir + "/e.csv", split: .train), contains: [dir + "/e.csv", "empty file"])
        assertDataError(try DataSource.load(dir, split: .train), contains: [dir + "/train-images-idx3-ubyte", "empty file"])
    }

    func testNPYDatasetsAndHeldOutTail() throws {
        let dir = try makeTemporaryDirectory(self)
        let values = (0..<(13 * 4)).map { Float($0) / 2 }
        try NPYWriter.write(values, shape: [13, 4], to: dir + "/t.npy")
        try NPYWriter.write((0..<13).map { Int32($0 % 5) }, shape: [13], to: dir + "/t.labels.npy")
        let train = try DataSource.load(dir + "/t.npy", split: .train)
        let test = try DataSource.load(dir + "/t.npy", split: .test)
        XCTAssertEqual(train.count, 11)
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test.labels ?? [], [1, 2])
        var row = [Float](repeating: 0, count: 4)
        test.copySample(0, into: &row)
        XCTAssertEqual(row, [22, 22.5, 23, 23.5])
        XCTAssertFalse(train.storesBytes)

        try NPYWriter.write([Float](repeating: 1, count: 4), shape: [4], to: dir + "/flat.npy")
        assertDataError(try DataSource.load(dir + "/flat.npy", split: .train), contains: ["flat.npy", "wrong dimensions", "found shape 4"])
        try NPYWriter.write([Int32](repeating: 1, count: 4), shape: [2, 2], to: dir + "/ints.npy")
        assertDataError(try DataSource.load(dir + "/ints.npy", split: .train), contains: ["ints.npy", "unsupported dtype '<i4' for data"])
        try NPYWriter.write([Float](repeating: 1, count: 4), shape: [2, 2], to: dir + "/small.npy")
        try NPYWriter.write([Int32(0), 1, 2], shape: [3], to: dir + "/small.labels.npy")
        assertDataError(try DataSource.load(dir + "/small.npy", split: .test), contains: ["small.labels.npy", "count mismatch", "3 labels for 2 samples"])
        try NPYWriter.write([1e300, 0], shape: [1, 2], to: dir + "/huge.npy")
        assertDataError(try DataSource.load(dir + "/huge.npy", split: .train), contains: ["huge.npy", "out of Float range"])
        // Fewer than six samples: no test split to hold out, which asking for one says; training takes them all.
        try NPYWriter.write([UInt8](0..<10), shape: [5, 2], to: dir + "/five.npy")
        assertDataError(try DataSource.load(dir + "/five.npy", split: .test), contains: ["five.npy", "5 samples are too few"])
        XCTAssertEqual(try DataSource.load(dir + "/five.npy", split: .train).count, 5)
    }

    func testRandomFilesThroughEveryLoaderFailCleanly() throws {
        let dir = try makeTemporaryDirectory(self)
        for seed in 0..<60 as Range<UInt64> {
            var bytes = pseudoRandomBytes(count: Int(seed * 7 % 200), seed: seed)
            if seed % 4 == 1 && bytes.count > 12 { bytes.replaceSubrange(0..<8, with: [0x93] + Array("NUMPY".utf8) + [1, 0]) }
            if seed % 4 == 2 && bytes.count > 4 { bytes.replaceSubrange(0..<4, with: [0, 0, 8, 3]) }
            let files = [dir + "/r\(seed).npy", dir + "/r\(seed).csv"]
            for path in files {
                try writeFile(bytes, to: path)
                succeedsOrThrowsCleanly(path) { try DataSource.load(path, split: .train) }
            }
            let idxDir = dir + "/idx\(seed)"
            try FileManager.default.createDirectory(atPath: idxDir, withIntermediateDirectories: true)
            try writeFile(seed % 2 == 0 ? bytes : gzipBytes(bytes), to: idxDir + "/train-images-idx3-ubyte.gz")
            assertDataError(try DataSource.load(idxDir, split: .train), contains: [idxDir + "/train-images-idx3-ubyte.gz"])
        }
    }

    func testSyntheticSpecs() throws {
        let train = try DataSource.load("synthetic:k=2,n=60,seed=5", split: .train)
        let test = try DataSource.load("synthetic:k=2,n=60,seed=5", split: .test)
        XCTAssertEqual(train.count, 60)
        XCTAssertEqual(test.count, 10)
        XCTAssertEqual(test.fingerprint, SyntheticData.make(count: 10, factors: 2, seed: 5, firstIndex: 60).fingerprint)
        XCTAssertEqual(try DataSource.syntheticOptions("synthetic"), DataSource.SyntheticOptions())
        assertDataError(try DataSource.load("synthetic:k=9", split: .train), contains: ["synthetic:k=9", "1...4", "'9'"])
        assertDataError(try DataSource.load("synthetic:n=0", split: .train), contains: ["n (samples)"])
        assertDataError(try DataSource.load("synthetic:colour=red", split: .train), contains: ["unknown option 'colour'"])
        assertDataError(try DataSource.load("synthetic:k", split: .train), contains: ["key=value"])
    }
}
