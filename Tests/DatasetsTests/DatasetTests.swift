import XCTest
@testable import Datasets

final class DatasetTests: XCTestCase {
    func testBytesBecomeUnitFloatsAndFloatsStay() throws {
        let bytes = try Dataset(name: "b", sampleShape: [2, 2], bytes: [0, 51, 255, 128, 1, 2, 3, 4], labels: [7, 8])
        XCTAssertEqual(bytes.count, 2)
        XCTAssertEqual(bytes.dimension, 4)
        XCTAssertTrue(bytes.storesBytes)
        var row = [Float](repeating: -1, count: 4)
        bytes.copySample(0, into: &row)
        XCTAssertEqual(row, [0, 0.2, 1, Float(128) / 255])

        let floats = try Dataset(name: "f", sampleShape: [3], floats: [1, -2, 3, 4.5, 5, 6])
        floats.copySample(1, into: &row)
        XCTAssertEqual(Array(row[0..<3]), [4.5, 5, 6])
        XCTAssertNil(floats.labels)
    }

    func testCopySamplesWritesRowsInOrder() throws {
        let data = try Dataset(name: "f", sampleShape: [2], floats: [0, 1, 10, 11, 20, 21])
        var batch = [Float](repeating: 0, count: 6)
        data.copySamples([2, 0, 2] as [Int32], into: &batch)
        XCTAssertEqual(batch, [20, 21, 0, 1, 20, 21])
    }

    func testSubsetSharesRowsAndLabels() throws {
        let data = try Dataset(name: "s", sampleShape: [1], bytes: [10, 20, 30, 40, 50], labels: [0, 1, 2, 3, 4])
        let middle = data.subset(1..<4)
        XCTAssertEqual(middle.count, 3)
        XCTAssertEqual(middle.labels ?? [], [1, 2, 3])
        var value: Float = 0
        middle.copySample(2, into: &value)
        XCTAssertEqual(value, Float(40) / 255)
        let inner = middle.subset(1..<2)
        inner.copySample(0, into: &value)
        XCTAssertEqual(value, Float(30) / 255)
        XCTAssertEqual(inner.fingerprint, try Dataset(name: "x", sampleShape: [1], bytes: [30], labels: [2]).fingerprint)
    }

    func testFingerprintSeesShapeContentsAndLabels() throws {
        let pixels = [UInt8](0..<200).map { $0 &* 37 }
        let base = try Dataset(name: "a", sampleShape: [10, 10], bytes: pixels, labels: [1, 2]).fingerprint
        XCTAssertEqual(base, try Dataset(name: "other name", sampleShape: [10, 10], bytes: pixels, labels: [1, 2]).fingerprint)
        var changedHigh = pixels; changedHigh[7] ^= 0x80
        var changedLast = pixels; changedLast[199] ^= 1
        let others = [
            try Dataset(name: "a", sampleShape: [100], bytes: pixels, labels: [1, 2]).fingerprint,
            try Dataset(name: "a", sampleShape: [10, 10], bytes: changedHigh, labels: [1, 2]).fingerprint,
            try Dataset(name: "a", sampleShape: [10, 10], bytes: changedLast, labels: [1, 2]).fingerprint,
            try Dataset(name: "a", sampleShape: [10, 10], bytes: pixels, labels: [1, 3]).fingerprint,
            try Dataset(name: "a", sampleShape: [10, 10], bytes: pixels).fingerprint,
            try Dataset(name: "a", sampleShape: [10, 10], floats: pixels.map(Float.init)).fingerprint,
        ]
        XCTAssertEqual(Set(others + [base]).count, others.count + 1)
        // A change confined to one high bit must still reach the low bits of the hash.
        XCTAssertNotEqual(base & 0xFFFF_FFFF, others[1] & 0xFFFF_FFFF)
    }

    func testInvalidConstructionThrows() {
        assertDataError(try Dataset(name: "n", sampleShape: [2], floats: [1, .nan]), contains: ["n", "NaN", "sample 0, element 1"])
        assertDataError(try Dataset(name: "i", sampleShape: [1], floats: [1, -.infinity]), contains: ["infinity", "sample 1"])
        assertDataError(try Dataset(name: "c", sampleShape: [2], bytes: [1, 2, 3]), contains: ["do not divide"])
        assertDataError(try Dataset(name: "l", sampleShape: [1], bytes: [1, 2], labels: [0]), contains: ["2 samples but 1 labels"])
        assertDataError(try Dataset(name: "e", sampleShape: [3], bytes: []), contains: ["no samples"])
        assertDataError(try Dataset(name: "z", sampleShape: [0], bytes: []), contains: ["sample shape"])
    }
}
