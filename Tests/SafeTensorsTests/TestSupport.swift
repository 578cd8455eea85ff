import Foundation
import XCTest
@testable import SafeTensors

/// A file built by hand: 8-byte little-endian length (the header's, unless overridden), header, data.
func rawFile(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    rawFile(headerBytes: Array(header.utf8), data: data, length: length)
}

func rawFile(headerBytes: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    var out: [UInt8] = []
    withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
    return out + headerBytes + data
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// Parses and expects a SafeTensorsError whose description contains `fragment` and is one line.
func assertRejects(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let f = try SafeTensorsFile.parse(bytes: bytes, source: "case.safetensors")
        XCTFail("accepted a malformed file (\(f.tensors.count) tensors); expected error containing '\(fragment)'", file: file, line: line)
    } catch let e as SafeTensorsError {
        XCTAssertTrue(e.description.contains(fragment), "error '\(e.description)' lacks '\(fragment)'", file: file, line: line)
        XCTAssertTrue(e.description.hasPrefix("case.safetensors: "), "error does not name the file: \(e)", file: file, line: line)
        XCTAssertFalse(e.description.contains("\n"), "error spans lines: \(e)", file: file, line: line)
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
    }
}

/// A fresh directory under the system temp folder, removed by the caller's teardown.
func makeTemporaryDirectory(_ label: String) throws -> String {
    let path = NSTemporaryDirectory() + "safetensors-tests-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
