import XCTest
@testable import SafeTensors

final class RoundTripTests: XCTestCase {
    func testWriterOutputMatchesFormatByteForByte() throws {
        // One F32 tensor [1,2,3] holding 0...5 and no metadata: the header is exactly 64 bytes of
        // JSON (no padding needed), then 24 bytes of little-endian floats.
        var w = SafeTensorsWriter()
        try w.add(name: "attn.0", shape: [1, 2, 3], values: [Float(0), 1, 2, 3, 4, 5])
        let json = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
        XCTAssertEqual(json.utf8.count, 64)
        XCTAssertEqual(try w.serialize(), rawFile(json, data: floatBytes([0, 1, 2, 3, 4, 5])))
    }

    func testEmptyFileIsBracesPaddedWithSpaces() throws {
        let bytes = try SafeTensorsWriter().serialize()
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let f = try SafeTensorsFile.parse(bytes: bytes, source: "empty")
        XCTAssertTrue(f.tensors.isEmpty)
        XCTAssertTrue(f.metadata.isEmpty)
        XCTAssertEqual(f.dataLength, 0)
    }

    func testRoundTripOfEveryReadableDtypeAndMetadata() throws {
        var w = SafeTensorsWriter(metadata: ["b": "two", "a": "one \"quoted\"\nline é ✓", "config": #"{"x":[1,2]}"#])
        let f32: [Float] = [1.5, -0.0, .infinity, -.infinity, 3.25e-38, .greatestFiniteMagnitude]
        try w.add(name: "w.f32", shape: [2, 3], values: f32)
        try w.add(name: "w.f64", shape: [3], values: [Double.pi, -1e300, 0])
        try w.add(name: "w.i32", shape: [2, 2], values: [Int32.min, -1, 0, Int32.max])
        try w.add(name: "w.i64", shape: [2], values: [Int64.min, Int64.max])
        try w.add(name: "w.u8", shape: [5], values: [UInt8(0), 1, 127, 128, 255])
        try w.add(name: "scalar", shape: [], values: [Float(42)])
        try w.add(name: "empty", shape: [0, 7], values: [Float]())
        try w.add(name: "nan", shape: [1], values: [Float(bitPattern: 0x7FC0_1234)])
        let bytes = try w.serialize()
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to a multiple of 8")

        let f = try SafeTensorsFile.parse(bytes: bytes, source: "rt")
        XCTAssertEqual(f.tensors.map { $0.name }, ["w.f32", "w.f64", "w.i32", "w.i64", "w.u8", "scalar", "empty", "nan"])
        XCTAssertEqual(f.entry("w.f32")?.shape, [2, 3])
        XCTAssertEqual(f.entry("w.f32")?.range, 0..<24)
        XCTAssertEqual(try f.floats("w.f32").map { $0.bitPattern }, f32.map { $0.bitPattern })
        XCTAssertEqual(try f.doubles("w.f64"), [Double.pi, -1e300, 0])
        XCTAssertEqual(try f.values("w.i32", as: Int32.self), [Int32.min, -1, 0, Int32.max])
        XCTAssertEqual(try f.values("w.i64", as: Int64.self), [Int64.min, Int64.max])
        XCTAssertEqual(try f.values("w.u8", as: UInt8.self), [0, 1, 127, 128, 255])
        XCTAssertEqual(try f.floats("scalar"), [42])
        XCTAssertEqual(f.entry("scalar")?.shape, [])
        XCTAssertEqual(try f.floats("empty"), [])
        XCTAssertEqual(try f.floats("nan").first?.bitPattern, 0x7FC0_1234)
        XCTAssertEqual(f.metadata, w.metadata)
        XCTAssertEqual(f.verifyChecksums(), ChecksumReport(data: .absent, header: .absent))

        // Deterministic: the same tensors and metadata give the same bytes.
        XCTAssertEqual(try w.serialize(), bytes)
    }

    func testWithFloatsIsZeroCopyAndMatchesFloats() throws {
        var w = SafeTensorsWriter()
        let values = (0..<1000).map { Float($0) * 0.5 - 3 }
        try w.add(name: "u8", shape: [3], values: [UInt8(1), 2, 3])  // puts the next tensor at offset 3
        try w.add(name: "x", shape: [10, 100], values: values)
        try w.add(name: "pad", shape: [1], values: [UInt8(9)])      // realigns: "a" starts at 4004
        try w.add(name: "a", shape: [1], values: [Float(7)])
        let f = try SafeTensorsFile.parse(bytes: try w.serialize(), source: "wf")
        // "x" starts at data offset 3, unaligned: withFloats must still give the right values.
        try f.withFloats("x") { XCTAssertEqual(Array($0), values) }
        try f.withFloats("a") { buffer in
            XCTAssertEqual(Array(buffer), [7])
            f.withDataSection { data in
                XCTAssertEqual(UnsafeRawPointer(buffer.baseAddress!), data.baseAddress! + 4004, "aligned tensors are not copied")
            }
        }
        XCTAssertThrowsError(try f.withFloats("u8") { _ in }) { e in
            XCTAssertEqual("\(e)", "wf: tensor 'u8' has dtype U8; expected F32")
        }
        XCTAssertThrowsError(try f.floats("missing")) { e in XCTAssertEqual("\(e)", "wf: no tensor named 'missing'") }
    }

    func testReaderAcceptsWhatTheFormatAllows() throws {
        // Tensors listed out of offset order, extra JSON whitespace, a null __metadata__, escapes.
        let header = "\n { \"b\" : {\"data_offsets\":[4,12],\"dtype\":\"F32\",\"shape\":[2]},\n\t\"a\\\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
            + "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[12,12]},\"__metadata__\":null}\r\n  \t"
        let f = try SafeTensorsFile.parse(bytes: rawFile(header, data: floatBytes([1, 2, 3])), source: "ok")
        XCTAssertEqual(f.tensors.map { $0.name }, ["a\"é😀", "b", "z"])
        XCTAssertEqual(try f.floats("b"), [2, 3])
        XCTAssertEqual(try f.floats("a\"é😀"), [1])
        XCTAssertEqual(f.metadata, [:])

        // Sub-byte dtypes are fine when they fill whole bytes; other byte-sized dtypes are readable raw.
        let sub = rawFile(#"{"q":{"dtype":"F4","shape":[2,2],"data_offsets":[0,2]},"h":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]}}"#,
                          data: [0x12, 0x34, 0x80, 0x3F])
        let g = try SafeTensorsFile.parse(bytes: sub, source: "sub")
        XCTAssertEqual(g.entry("q")?.dtype, .F4)
        XCTAssertEqual(try g.withRawBytes("h") { Array($0) }, [0x80, 0x3F])
    }

    func testWriterRefusesInconsistentTensors() {
        var w = SafeTensorsWriter()
        XCTAssertThrowsError(try w.add(name: "x", shape: [2, 2], values: [Float(1), 2, 3]))
        XCTAssertThrowsError(try w.add(name: "x", shape: [-1], values: [Float]()))
        XCTAssertThrowsError(try w.add(name: "__metadata__", shape: [1], values: [Float(1)]))
        XCTAssertNoThrow(try w.add(name: "x", shape: [1], values: [Float(1)]))
        XCTAssertThrowsError(try w.add(name: "x", shape: [1], values: [Float(1)])) { e in
            XCTAssertTrue("\(e)".contains("added twice"))
        }
        XCTAssertEqual(w.tensors.count, 1)
    }

    func testReadFromDiskAndWriteAtomically() throws {
        let dir = try makeTemporaryDirectory("rt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = SafeTensorsWriter(metadata: ["k": "v"], includesChecksums: true)
        try w.add(name: "x", shape: [3], values: [Float(1), 2, 3])
        let path = dir + "/a.safetensors"
        let written = try w.writeAtomically(to: path)
        let f = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(try f.floats("x"), [1, 2, 3])
        XCTAssertEqual(f.metadata["k"], "v")
        XCTAssertTrue(f.verifyChecksums().allVerified)
        XCTAssertEqual(written.byteCount, try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.safetensors"], "no temporary file left")

        XCTAssertThrowsError(try SafeTensorsFile.read(path: dir + "/missing.safetensors")) { e in
            XCTAssertTrue("\(e)".hasPrefix(dir + "/missing.safetensors: cannot open"), "\(e)")
        }
        XCTAssertThrowsError(try SafeTensorsFile.read(path: dir)) { e in XCTAssertTrue("\(e)".contains("is a directory, expected a file"), "\(e)") }
        XCTAssertThrowsError(try SafeTensorsFile.read(path: "/dev/zero")) { e in XCTAssertTrue("\(e)".contains("character device"), "\(e)") }
    }

    func testSummaryListsTensorsMetadataAndChecksums() throws {
        var w = SafeTensorsWriter(metadata: ["epoch": "3", "long": String(repeating: "x", count: 500)], includesChecksums: true)
        try w.add(name: "encoder.0.weight", shape: [4, 3], values: [Float](repeating: 1, count: 12))
        try w.add(name: "step", shape: [1], values: [Int64(7)])
        let f = try SafeTensorsFile.parse(bytes: try w.serialize(), source: "s.safetensors")
        let text = f.summary()
        XCTAssertTrue(text.hasPrefix("s.safetensors: 2 tensors, 13 elements"), text)
        XCTAssertTrue(text.contains("encoder.0.weight  F32    [4, 3]  48 bytes"), text)
        XCTAssertTrue(text.contains("step              I64    [1]     8 bytes"), text)
        XCTAssertTrue(text.contains("  epoch = 3"), text)
        XCTAssertTrue(text.contains("… (500 bytes)"), text)
        XCTAssertTrue(text.contains("checksum: data_crc32 ok ("), text)
        XCTAssertTrue(text.contains("header_crc32 ok ("), text)
    }
}
