import Foundation
import XCTest
@testable import Datasets

final class NPYTests: XCTestCase {
    /// A v1.0 file as numpy writes it, with a hand-written header.
    func npy(descr: String, fortran: String = "False", shape: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
        var dict = Array("{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }".utf8)
        let fixed = major == 1 ? 10 : 12
        while (fixed + dict.count + 1) % 64 != 0 { dict.append(0x20) }
        dict.append(0x0A)
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
        out += [UInt8(dict.count & 0xFF), UInt8(dict.count >> 8)]
        if major != 1 { out += [0, 0] }
        return out + dict + data
    }

    func floatBytes(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    func testRoundTripEveryWritableType() throws {
        let dir = try makeTemporaryDirectory(self)
        let floats: [Float] = [0, -1.5, 3.25, .greatestFiniteMagnitude, 1e-30, 7]
        try NPYWriter.write(floats, shape: [2, 3], to: dir + "/f.npy")
        let f = try NPYReader.read(path: dir + "/f.npy")
        XCTAssertEqual(f.shape, [2, 3])
        guard case .float32(let fv) = f.elements else { return XCTFail("\(f.descr)") }
        XCTAssertEqual(fv, floats)

        let doubles: [Double] = [1.0 / 3.0, -2e300, 0]
        try NPYWriter.write(doubles, shape: [3], to: dir + "/d.npy")
        guard case .float64(let dv) = try NPYReader.read(path: dir + "/d.npy").elements else { return XCTFail() }
        XCTAssertEqual(dv, doubles)

        let ints: [Int32] = [-7, 0, Int32.max, Int32.min]
        try NPYWriter.write(ints, shape: [2, 2], to: dir + "/i.npy")
        guard case .int32(let iv) = try NPYReader.read(path: dir + "/i.npy").elements else { return XCTFail() }
        XCTAssertEqual(iv, ints)

        let bytes: [UInt8] = [0, 128, 255]
        try NPYWriter.write(bytes, shape: [1, 3, 1], to: dir + "/u.npy")
        let u = try NPYReader.read(path: dir + "/u.npy")
        XCTAssertEqual(u.shape, [1, 3, 1])
        guard case .uint8(let uv) = u.elements else { return XCTFail() }
        XCTAssertEqual(uv, bytes)

        let scalar = try NPYWriter.encode([Float(2.5)], shape: [])
        XCTAssertEqual(try NPYReader.parse(scalar, source: "s").shape, [])
    }

    func testWriterPadsHeaderTo64Bytes() throws {
        for shape in [[0], [5], [123_456, 784], [1, 2, 3, 4, 5, 6, 7]] {
            let count = shape.reduce(1, *)
            let bytes = try NPYWriter.encode([Float](repeating: 1, count: count), shape: shape)
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0, "\(shape)")
            XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A)
            XCTAssertEqual(bytes.count, 10 + headerLength + 4 * count)
        }
        assertDataError(try NPYWriter.encode([Float(1)], shape: [2]), contains: ["shape 2 holds 2 values, given 1"])
    }

    func testReadsVersions2And3() throws {
        let data = floatBytes([1, 2])
        for major: UInt8 in [2, 3] {
            let array = try NPYReader.parse(npy(descr: "<f4", shape: "(2,)", data: data, major: major), source: "v")
            XCTAssertEqual(array.floats(), [1, 2])
        }
        assertDataError(try NPYReader.parse(npy(descr: "<f4", shape: "(2,)", data: data, major: 4), source: "v4.npy"),
                        contains: ["v4.npy", "unsupported NPY version 4.0"])
    }

    func testMalformedFilesNameTheProblem() {
        let d = floatBytes([1, 2, 3, 4])
        let cases: [([UInt8], [String])] = [
            ([], ["empty file"]),
            (Array("PK\u{3}\u{4}abcdef".utf8), ["wrong magic"]),
            (npy(descr: "<f4", fortran: "True", shape: "(2, 2)", data: d), ["fortran_order True", "C order"]),
            (npy(descr: ">f4", shape: "(4,)", data: d), ["unsupported dtype '>f4'", "big-endian"]),
            (npy(descr: "<c8", shape: "(2,)", data: d), ["unsupported dtype '<c8'"]),
            (npy(descr: "<f4", shape: "(5,)", data: d), ["truncated", "needs 20 bytes", "found 16"]),
            (npy(descr: "<f4", shape: "(3,)", data: d), ["4 unexpected bytes"]),
            (npy(descr: "<f4", shape: "(4)", data: d), ["malformed NPY header", "(n,)"]),
            (npy(descr: "<f4", shape: "(4,) + 1", data: d), ["malformed NPY header"]),
            (npy(descr: "<f4", shape: "(-4,)", data: d), ["malformed NPY header"]),
            (npy(descr: "<f4", shape: "(99999999999999999999,)", data: d), ["malformed NPY header", "too large"]),
            (npy(descr: "<f4", shape: "(4294967296, 4294967296)", data: d), ["too large"]),
            (npy(descr: "<f4', 'extra': 'x", shape: "(4,)", data: d), ["unexpected key 'extra'"]),
            (npy(descr: "<f4', 'descr': '<f8", shape: "(4,)", data: d), ["duplicate key 'descr'"]),
            (Array(npy(descr: "<f4", shape: "(4,)", data: d)[0..<9]), ["truncated", "10-byte"]),
        ]
        for (bytes, fragments) in cases {
            assertDataError(try NPYReader.parse(bytes, source: "bad.npy"), contains: ["bad.npy"] + fragments)
        }
        var structured = npy(descr: "<f4", shape: "(4,)", data: d)
        let list = Array("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }".utf8)
        structured.replaceSubrange(10..<(10 + list.count), with: list)
        assertDataError(try NPYReader.parse(structured, source: "s.npy"), contains: ["s.npy", "malformed NPY header"])
    }

    func testEveryTruncationFailsCleanly() throws {
        let file = try NPYWriter.encode([Float](repeating: 0.5, count: 6), shape: [2, 3])
        for cut in 0..<file.count {
            assertDataError(try NPYReader.parse(Array(file[0..<cut]), source: "cut.npy"), contains: ["cut.npy"])
        }
        let dir = try makeTemporaryDirectory(self)
        for cut in 0..<file.count {
            let path = "\(dir)/c\(cut).npy"
            try writeFile(Array(file[0..<cut]), to: path)
            assertDataError(try DataSource.load(path, split: .train), contains: [path])
        }
    }

    func testRandomBytesAndMutatedHeadersFailCleanly() throws {
        let file = try NPYWriter.encode([Float](repeating: 0.5, count: 6), shape: [2, 3])
        for seed in 0..<400 as Range<UInt64> {
            let noise = pseudoRandomBytes(count: Int(seed % 90), seed: seed)
            succeedsOrThrowsCleanly("r.npy") { try NPYReader.parse(noise, source: "r.npy") }
            var mutated = file
            let position = Int(seed) % 64
            mutated[position] = noise.first ?? 0
            succeedsOrThrowsCleanly("m.npy") { try NPYReader.parse(mutated, source: "m.npy") }
        }
    }

    // MARK: numpy interoperability

    func python(_ script: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func requireNumpy() throws {
        guard try python("import numpy") != nil else { throw XCTSkip("python3 with numpy is not available") }
    }

    func testNumpyLoadsWriterOutput() throws {
        try requireNumpy()
        let dir = try makeTemporaryDirectory(self)
        try NPYWriter.write([Float(1.5), -2, 0.1875, 4, 5, 6], shape: [2, 3], to: dir + "/f.npy")
        try NPYWriter.write([Double.pi], shape: [1], to: dir + "/d.npy")
        try NPYWriter.write([Int32(-3), 9], shape: [2], to: dir + "/i.npy")
        try NPYWriter.write([UInt8](0..<24), shape: [2, 3, 4], to: dir + "/u.npy")
        let report = try python("""
        import numpy as np
        d = '\(dir)'
        f = np.load(d + '/f.npy'); dd = np.load(d + '/d.npy'); i = np.load(d + '/i.npy'); u = np.load(d + '/u.npy')
        print(f.dtype, f.shape, f.flags['C_CONTIGUOUS'], repr(f.tolist()))
        print(dd.dtype, dd.shape, repr(dd.tolist()))
        print(i.dtype, i.shape, i.tolist())
        print(u.dtype, u.shape, int(u[1, 2, 3]), int(u.sum()))
        """)
        let lines = report?.split(separator: "\n").map(String.init) ?? []
        XCTAssertEqual(lines, [
            "float32 (2, 3) True [[1.5, -2.0, 0.1875], [4.0, 5.0, 6.0]]",
            "float64 (1,) [3.141592653589793]",
            "int32 (2,) [-3, 9]",
            "uint8 (2, 3, 4) 23 276",
        ])
    }

    func testReadsFilesNumpyWrote() throws {
        try requireNumpy()
        let dir = try makeTemporaryDirectory(self)
        let ok = try python("""
        import numpy as np
        d = '\(dir)'
        np.save(d + '/f.npy', np.arange(12, dtype=np.float32).reshape(3, 4) / 8)
        np.save(d + '/d.npy', np.array([[0.1, 0.2], [0.3, 0.4]]))
        np.save(d + '/u.npy', np.arange(2 * 5 * 5, dtype=np.uint8).reshape(2, 5, 5))
        np.save(d + '/u.labels.npy', np.array([3, 1]))
        with open(d + '/v2.npy', 'wb') as fh:
            np.lib.format.write_array(fh, np.ones((2, 2), np.float32), version=(2, 0))
        np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), np.float32)))
        np.save(d + '/nan.npy', np.array([[1.0, np.nan]], np.float32))
        np.save(d + '/inf.npy', np.array([[1.0], [-np.inf]]))
        print('ok')
        """)
        XCTAssertEqual(ok, "ok")
        let f = try NPYReader.read(path: dir + "/f.npy")
        XCTAssertEqual(f.shape, [3, 4])
        XCTAssertEqual(f.floats()[5], 0.625)
        XCTAssertEqual(try NPYReader.read(path: dir + "/d.npy").floats(), [0.1, 0.2, 0.3, 0.4])
        XCTAssertEqual(try NPYReader.read(path: dir + "/v2.npy").floats(), [1, 1, 1, 1])

        let u = try DataSource.load(dir + "/u.npy", split: .train)
        XCTAssertEqual(u.sampleShape, [5, 5])
        XCTAssertEqual(u.labels, [3, 1])   // int64 labels from the sibling file
        var row = [Float](repeating: 0, count: 25)
        u.copySample(1, into: &row)
        XCTAssertEqual(row[24], 49 / 255)

        assertDataError(try DataSource.load(dir + "/fortran.npy", split: .train), contains: ["fortran.npy", "fortran_order True"])
        assertDataError(try DataSource.load(dir + "/nan.npy", split: .train), contains: ["nan.npy", "NaN", "sample 0, element 1"])
        assertDataError(try DataSource.load(dir + "/inf.npy", split: .train), contains: ["inf.npy", "infinity", "sample 1, element 0"])
    }
}
