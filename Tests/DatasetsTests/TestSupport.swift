import CZlib
import Foundation
import XCTest
@testable import Datasets

/// A fresh directory under the system temp dir, removed when the test case ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "datasets-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func writeFile(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// An IDX file of unsigned bytes with the given shape and contents.
func idxBytes(shape: [Int], data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for d in shape {
        out += [UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16),
                UInt8(truncatingIfNeeded: d >> 8), UInt8(truncatingIfNeeded: d)]
    }
    return out + data
}

/// gzip-compresses with zlib's deflate (an independent path from the reader's inflate).
func gzipBytes(_ input: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    let status = deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
    var source = input
    let produced: Int = source.withUnsafeMutableBufferPointer { src in
        output.withUnsafeMutableBufferPointer { dst in
            stream.next_in = src.baseAddress
            stream.avail_in = UInt32(src.count)
            stream.next_out = dst.baseAddress
            stream.avail_out = UInt32(dst.count)
            let rc = deflate(&stream, Z_FINISH)
            precondition(rc == Z_STREAM_END)
            return dst.count - Int(stream.avail_out)
        }
    }
    return Array(output[0..<produced])
}

/// Asserts that `body` throws a DataError whose one-line description contains every fragment.
func assertDataError<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a DataError containing \(fragments)", file: file, line: line)
    } catch let error as DataError {
        let text = error.description
        XCTAssertFalse(text.contains("\n"), "description spans lines: \(text)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(text.contains(fragment), "'\(text)' does not mention '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a DataError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// Runs `body`, requiring it to either succeed or throw a one-line DataError naming `source`.
@discardableResult
func succeedsOrThrowsCleanly<T>(_ source: String, _ body: () throws -> T,
                                file: StaticString = #filePath, line: UInt = #line) -> T? {
    do {
        return try body()
    } catch let error as DataError {
        XCTAssertTrue(error.description.hasPrefix(source), "\(error.description) does not start with \(source)", file: file, line: line)
        XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
        return nil
    } catch {
        XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

/// Deterministic pseudo-random bytes for fuzz-style tests.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}
