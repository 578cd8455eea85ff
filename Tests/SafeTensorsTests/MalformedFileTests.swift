import XCTest
@testable import SafeTensors

/// Every way a header can break the format, each built by hand, each a one-line error.
final class MalformedFileTests: XCTestCase {
    let f8 = floatBytes([1, 2])  // 8 bytes of data

    func tensor(_ name: String = "w", dtype: String = "\"F32\"", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        "{\"\(name)\":{\"dtype\":\(dtype),\"shape\":\(shape),\"data_offsets\":\(offsets)}}"
    }

    func testTooShortForTheLengthPrefix() {
        assertRejects([], "8-byte header length")
        assertRejects([1, 0, 0], "8-byte header length")
    }

    func testHeaderLengthPastEndOfFile() {
        assertRejects(rawFile("{}", length: 3), "header length 3 runs past the end of the file (10 bytes")
        assertRejects(rawFile("{}", length: 100), "runs past the end")
    }

    func testHeaderLengthOverTheLimit() {
        assertRejects(rawFile("{}", length: 100_000_001), "header length 100000001 exceeds the limit of 100000000 bytes")
        assertRejects(rawFile("{}", length: 1 << 40), "exceeds the limit")
        assertRejects(rawFile("{}", length: UInt64.max), "exceeds the limit")
    }

    func testHugeHeaderLengthOnDiskIsRefusedBeforeAllocating() throws {
        let dir = try makeTemporaryDirectory("huge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for length: UInt64 in [1 << 40, 99_999_999] {
            let path = dir + "/h\(length).safetensors"
            _ = FileManager.default.createFile(atPath: path, contents: Data(rawFile("{}", length: length)))
            // Were the length trusted, this would try to allocate 1 TiB (or read 100 MB past EOF).
            XCTAssertThrowsError(try SafeTensorsFile.read(path: path)) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(length > 100_000_000 ? "exceeds the limit" : "runs past the end"), text)
                XCTAssertTrue(text.hasPrefix(path + ": "))
            }
        }
    }

    func testEmptyOrNonObjectHeader() {
        assertRejects(rawFile(""), "header is empty or blank (length 0)")
        assertRejects(rawFile("        "), "header is empty or blank (length 8)")
        assertRejects(rawFile("[]"), "does not start with '{'")
        assertRejects(rawFile(" []"), "does not start with '{'")
        assertRejects(rawFile(headerBytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)), "does not start with '{'")  // byte-order mark
        assertRejects(rawFile("\"x\""), "does not start with '{'")
    }

    func testInvalidUTF8() {
        assertRejects(rawFile(headerBytes: Array("{\"a".utf8) + [0xFF] + Array("\":1}".utf8)), "not valid UTF-8 (byte 3")
        assertRejects(rawFile(headerBytes: Array("{\"".utf8) + [0xC0, 0xAF] + Array("\":1}".utf8)), "not valid UTF-8")  // overlong '/'
        assertRejects(rawFile(headerBytes: Array("{\"".utf8) + [0xED, 0xA0, 0x80] + Array("\":1}".utf8)), "not valid UTF-8")  // surrogate
        assertRejects(rawFile(headerBytes: Array("{\"".utf8) + [0xF4, 0x90, 0x80, 0x80] + Array("\":1}".utf8)), "not valid UTF-8")  // > U+10FFFF
        assertRejects(rawFile(headerBytes: Array("{\"".utf8) + [0xE2, 0x82] + Array("\":1}".utf8)), "not valid UTF-8")  // cut sequence
    }

    func testInvalidJSON() {
        assertRejects(rawFile("{\"a\":}"), "not valid JSON")
        assertRejects(rawFile("{\"a\":{}"), "not valid JSON: header ends inside an object")
        assertRejects(rawFile("{} x"), "not valid JSON: unexpected 'x' after the JSON value")
        assertRejects(rawFile(headerBytes: Array("{}".utf8) + [0, 0, 0, 0, 0, 0]), "not valid JSON")  // NUL padding
        assertRejects(rawFile("{\"a\":[1,]}"), "not valid JSON")
        assertRejects(rawFile("{\"a\":01}"), "leading zero")
        assertRejects(rawFile("{\"a\":\"\\ud800\"}"), "lone UTF-16 surrogate")
        assertRejects(rawFile("{\"a\":\"\\udc00\\ud800\"}"), "lone UTF-16 surrogate")
        assertRejects(rawFile("{\"a\":\"\t\"}"), "control character")
        assertRejects(rawFile("{\"a\":\"\\x\"}"), "invalid escape")
        assertRejects(rawFile("{\"a\":tru}"), "not valid JSON")
        assertRejects(rawFile("{a:1}"), "expected a string key")
        assertRejects(rawFile("{\"__metadata__\":{\"k\":" + String(repeating: "[", count: 100_000) + "}}"), "nesting deeper than 64")
    }

    func testDuplicateKeys() {
        assertRejects(rawFile("{\"w\":{},\"w\":{}}"), "duplicate key 'w'")
        assertRejects(rawFile("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}"), "duplicate key 'k'")
        assertRejects(rawFile("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: f8),
                      "duplicate key 'dtype'")
        // The same name spelled through an escape is still the same key.
        assertRejects(rawFile("{\"w\":{},\"\\u0077\":{}}"), "duplicate key 'w'")
    }

    func testTensorInfoFields() {
        XCTAssertNoThrow(try SafeTensorsFile.parse(bytes: rawFile(tensor(), data: f8), source: "good"))
        assertRejects(rawFile("{\"w\":[]}", data: f8), "tensor 'w' is an array; expected an object")
        assertRejects(rawFile("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data: f8), "tensor 'w' has no dtype")
        assertRejects(rawFile("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", data: f8), "tensor 'w' has no shape")
        assertRejects(rawFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", data: f8), "tensor 'w' has no data_offsets")
        // Fields the format does not define are ignored, as by the reference implementation.
        let extra = try? SafeTensorsFile.parse(bytes: rawFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"note\":[1]}}", data: f8), source: "x")
        XCTAssertEqual(extra?.entry("w")?.range, 0..<8)
    }

    func testUnknownOrMistypedDtype() {
        assertRejects(rawFile(tensor(dtype: "\"F33\""), data: f8), "tensor 'w' has unknown dtype 'F33'")
        assertRejects(rawFile(tensor(dtype: "\"f32\""), data: f8), "unknown dtype 'f32'")
        assertRejects(rawFile(tensor(dtype: "32"), data: f8), "dtype of tensor 'w' is the number 32; expected a string")
    }

    func testBadShapes() {
        assertRejects(rawFile(tensor(shape: "[-2]"), data: f8), "shape of tensor 'w' has negative entry -2")
        assertRejects(rawFile(tensor(shape: "[-0]"), data: f8), "negative entry -0")
        assertRejects(rawFile(tensor(shape: "[2.5]"), data: f8), "has entry 2.5; expected a non-negative integer")
        assertRejects(rawFile(tensor(shape: "[2.0]"), data: f8), "has entry 2.0")
        assertRejects(rawFile(tensor(shape: "[2e0]"), data: f8), "has entry 2e0")
        assertRejects(rawFile(tensor(shape: "[\"2\"]"), data: f8), "has entry the string '2'")
        assertRejects(rawFile(tensor(shape: "2"), data: f8), "shape of tensor 'w' is the number 2; expected an array")
        assertRejects(rawFile(tensor(shape: "[99999999999999999999]"), data: f8), "too large")
        assertRejects(rawFile(tensor(shape: "[4294967296,4294967296,16]"), data: f8), "too many elements (overflow)")
        // Fits in Int as elements, overflows once multiplied by 4 bytes.
        assertRejects(rawFile(tensor(shape: "[4611686018427387904]"), data: f8), "overflow")
    }

    func testByteSizeMustMatchDtypeTimesShape() {
        assertRejects(rawFile(tensor(shape: "[3]"), data: f8), "dtype F32 and shape [3] need 12 bytes but data_offsets [0, 8] span 8")
        assertRejects(rawFile(tensor(dtype: "\"F64\""), data: f8), "need 16 bytes")
        assertRejects(rawFile(tensor(dtype: "\"F4\"", shape: "[3]", offsets: "[0,2]"), data: [0, 0]), "do not make a whole number of bytes")
    }

    func testBadOffsets() {
        assertRejects(rawFile(tensor(offsets: "[0,8,16]"), data: f8), "has 3 entries; expected [begin, end]")
        assertRejects(rawFile(tensor(offsets: "[8,0]"), data: f8), "[8, 0]: begin is after end")
        assertRejects(rawFile(tensor(offsets: "[0,-8]"), data: f8), "negative entry -8")
        assertRejects(rawFile(tensor(offsets: "[8,16]"), data: f8), "[8, 16]: past the end of the data section (8 bytes)")
        assertRejects(rawFile(tensor(offsets: "[0,18446744073709551615]"), data: f8), "too large")
    }

    func testOverlapsHolesAndTrailingBytes() {
        let twelve = floatBytes([1, 2, 3])
        let overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"
        assertRejects(rawFile(overlap, data: twelve), "tensor 'b' (bytes 4..<12) overlaps tensor 'a' (bytes 0..<8)")
        let same = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        assertRejects(rawFile(same, data: f8), "overlaps")
        let hole = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}"
        assertRejects(rawFile(hole, data: twelve), "hole: bytes 4..<8 belong to no tensor (before tensor 'b')")
        assertRejects(rawFile(tensor(), data: twelve), "data section has 12 bytes but the tensors cover 8; bytes 8..<12 belong to no tensor")
        assertRejects(rawFile("{}", data: [1]), "data section has 1 bytes but the tensors cover 0")
        assertRejects(rawFile(tensor(offsets: "[4,12]"), data: twelve), "hole: bytes 0..<4")
    }

    func testMetadataMustMapStringsToStrings() {
        assertRejects(rawFile("{\"__metadata__\":{\"k\":1}}"), "__metadata__ value for key 'k' is the number 1; metadata values must be strings")
        assertRejects(rawFile("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}"), "is an object; metadata values must be strings")
        assertRejects(rawFile("{\"__metadata__\":{\"k\":null}}"), "is null")
        assertRejects(rawFile("{\"__metadata__\":[\"k\"]}"), "__metadata__ is an array; expected an object of strings")
        assertRejects(rawFile("{\"__metadata__\":\"k\"}"), "__metadata__ is the string 'k'")
    }

    func testHostileNamesStayOnOneLineAndShort() {
        let name = String(repeating: "n", count: 1000) + "\\nsecond line"
        assertRejects(rawFile(tensor(name, dtype: "\"Q8\""), data: f8), "…' has unknown dtype")
    }
}
