import Foundation
import XCTest
@testable import SafeTensors

/// Python reads what we write and we read what Python writes: with a few lines of plain numpy
/// always (skipped only when python3 or numpy is missing), and with the `safetensors` package's
/// own loader and saver when it is installed (`pip install safetensors numpy`).
final class PythonInteropTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        guard run(["python3", "-c", "import numpy"]).status == 0 else {
            throw XCTSkip("python3 with numpy is not available")
        }
        dir = try makeTemporaryDirectory("py")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func python(_ script: String, _ args: [String]) throws -> String {
        let path = dir + "/script.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = run(["python3", path] + args)
        XCTAssertEqual(status, 0, "python failed:\n\(output)")
        return output
    }

    static let readerScript = #"""
import json, struct, sys, zlib
import numpy as np

path, expected_path = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
assert n % 8 == 0, "header not padded to 8"
header_bytes = raw[8:8 + n]
header = json.loads(header_bytes.decode("utf-8"))
data = raw[8 + n:]
meta = header.pop("__metadata__")
expected = json.load(open(expected_path))
kinds = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1"}
bits = {"F32": np.uint32, "F64": np.uint64}

# Plain numpy: every tensor's shape and exact values, offsets tiling the data section.
pos = 0
for name in sorted(header, key=lambda k: header[k]["data_offsets"]):
    info = header[name]
    b, e = info["data_offsets"]
    assert b == pos, (name, b, pos)
    pos = e
    arr = np.frombuffer(data[b:e], dtype=kinds[info["dtype"]]).reshape(info["shape"])
    want = expected["tensors"][name]
    assert list(arr.shape) == want["shape"], (name, arr.shape)
    got = arr.view(bits[info["dtype"]]) if info["dtype"] in bits else arr
    assert got.ravel().tolist() == want["values"], (name, got.ravel().tolist()[:5])
assert pos == len(data)
assert set(header) == set(expected["tensors"])
for k, v in expected["metadata"].items():
    assert meta[k] == v, (k, meta[k], v)

# The checksums, with zlib's CRC-32.
assert meta["data_crc32"] == "%08x" % zlib.crc32(data)
key = b'"header_crc32":"'
at = header_bytes.index(key) + len(key)
assert meta["header_crc32"] == "%08x" % zlib.crc32(header_bytes[:at] + header_bytes[at + 8:])
print("numpy: ok")

try:
    from safetensors.numpy import load_file
except ImportError:
    print("safetensors: not installed, skipped")
    sys.exit(0)
loaded = load_file(path)
for name, want in expected["tensors"].items():
    arr = loaded[name]
    dt = header[name]["dtype"]
    got = arr.view(bits[dt]) if dt in bits else arr
    assert list(arr.shape) == want["shape"] and got.ravel().tolist() == want["values"], name
print("safetensors: ok")
"""#

    func testPythonReadsWhatWeWrite() throws {
        var w = SafeTensorsWriter(metadata: ["epoch": "3", "config": #"{"latent": 32, "name": "vä\"e"}"#, "ünï": "✓\nline"],
                                  includesChecksums: true)
        var tensors: [String: [String: Any]] = [:]
        let weight = (0..<(4 * 3)).map { Float($0) * 0.1 - 0.55 } + []
        try w.add(name: "encoder.0.weight", shape: [4, 3], values: weight)
        tensors["encoder.0.weight"] = ["shape": [4, 3], "values": weight.map { $0.bitPattern }]
        let specials: [Float] = [.nan, .infinity, -0.0, .leastNonzeroMagnitude]
        try w.add(name: "specials", shape: [4], values: specials)
        tensors["specials"] = ["shape": [4], "values": specials.map { $0.bitPattern }]
        try w.add(name: "scalar", shape: [], values: [Float(2.5)])
        tensors["scalar"] = ["shape": [Int](), "values": [Float(2.5).bitPattern]]
        try w.add(name: "empty", shape: [2, 0], values: [Float]())
        tensors["empty"] = ["shape": [2, 0], "values": [UInt32]()]
        try w.add(name: "f64", shape: [2], values: [Double.pi, -1e-300])
        tensors["f64"] = ["shape": [2], "values": [Double.pi.bitPattern, (-1e-300).bitPattern]]
        try w.add(name: "i32", shape: [3], values: [Int32.min, 0, Int32.max])
        tensors["i32"] = ["shape": [3], "values": [Int(Int32.min), 0, Int(Int32.max)]]
        try w.add(name: "i64", shape: [1, 2], values: [Int64.min, Int64.max])
        tensors["i64"] = ["shape": [1, 2], "values": [Int64.min, Int64.max]]
        try w.add(name: "u8", shape: [3], values: [UInt8(0), 128, 255])
        tensors["u8"] = ["shape": [3], "values": [0, 128, 255]]
        let path = dir + "/ours.safetensors"
        try w.writeAtomically(to: path)

        let expected: [String: Any] = ["tensors": tensors, "metadata": w.metadata]
        try JSONSerialization.data(withJSONObject: expected).write(to: URL(fileURLWithPath: dir + "/expected.json"))
        let output = try python(Self.readerScript, [path, dir + "/expected.json"])
        XCTAssertTrue(output.contains("numpy: ok"), output)
        print("python interop (reading ours): " + output.split(separator: "\n").joined(separator: "; "))
    }

    static let writerScript = #"""
import json, struct, sys
import numpy as np

out = sys.argv[1]
a = (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3)
b = np.array([1e-310, -2.0], dtype="<f8")
c = np.array([[7, -8]], dtype="<i4")
# Tensors in the data in the order b, a, c; listed in the JSON in another order, with spaces.
blobs = [("b", "F64", b), ("a", "F32", a), ("c", "I32", c)]
header, data = {}, b""
for name, dt, arr in blobs:
    header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + arr.nbytes]}
    data += arr.tobytes()
header = {"__metadata__": {"format": "np"}, "c": header["c"], "a": header["a"], "b": header["b"]}
text = json.dumps(header).encode("utf-8")
text += b" " * ((8 - len(text) % 8) % 8)
open(out, "wb").write(struct.pack("<Q", len(text)) + text + data)

try:
    from safetensors.numpy import save_file
except ImportError:
    print("safetensors: not installed, skipped")
    sys.exit(0)
save_file({"a": a, "b": b, "c": c}, out + ".lib", metadata={"format": "np"})
print("safetensors: wrote")
"""#

    func testWeReadWhatPythonWrites() throws {
        let path = dir + "/theirs.safetensors"
        let output = try python(Self.writerScript, [path])
        var paths = [path]
        if output.contains("safetensors: wrote") { paths.append(path + ".lib") }
        for p in paths {
            let f = try SafeTensorsFile.read(path: p)
            XCTAssertEqual(f.metadata, ["format": "np"], p)
            XCTAssertEqual(f.entry("a")?.shape, [2, 3], p)
            XCTAssertEqual(try f.floats("a"), [-1, -0.5, 0, 0.5, 1, 1.5], p)
            XCTAssertEqual(try f.doubles("b"), [1e-310, -2.0], p)
            XCTAssertEqual(try f.values("c", as: Int32.self), [7, -8], p)
            XCTAssertEqual(f.entry("c")?.shape, [1, 2], p)
            XCTAssertEqual(f.verifyChecksums(), ChecksumReport(data: .absent, header: .absent))
        }
        print("python interop (reading theirs): \(paths.count) file(s); " + output.split(separator: "\n").joined(separator: "; "))
    }
}
