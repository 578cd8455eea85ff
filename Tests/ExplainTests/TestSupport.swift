import Datasets
import Foundation
import XCTest
@testable import Explain

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("explain-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Skips the calling test where no Chromium is installed (the report check needs one).
func requireChromium() throws {
    let browsers = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    guard browsers.contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("chromium is not installed")
    }
}

/// Runs check_report.sh (headless Chromium: every <img> decoded) on `report`; its exit status
/// and what it printed.
func checkReportInChromium(_ report: String) throws -> (status: Int32, output: String) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("check_report.sh").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = [script, report]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// Every file under `dir`, relative to it, sorted.
func listFiles(_ dir: String) -> [String] {
    let e = FileManager.default.enumerator(atPath: dir)
    var files: [String] = []
    while let f = e?.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/" + f, isDirectory: &isDir), !isDir.boolValue { files.append(f) }
    }
    return files.sorted()
}

func npyFloats(_ path: String) throws -> (shape: [Int], values: [Float]) {
    let a = try NPYReader.read(path: path)
    return (a.shape, a.floats())
}

/// Runs python3 with numpy on `script`; nil when either is missing (the caller skips).
func runNumpy(_ script: String) throws -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import numpy\n" + script]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    do { try p.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let errText = String(decoding: errData, as: UTF8.self)
    if p.terminationStatus != 0 {
        if errText.contains("No module named") || errText.contains("not found") { return nil }
        XCTFail("python3 failed: \(errText)")
    }
    return String(decoding: data, as: UTF8.self)
}
