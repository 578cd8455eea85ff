import Foundation
import XCTest

/// Fixtures/layer-reference.json read outside an XCTestCase: the mixture prior and the Bayesian
/// layer tests both compare against it.
struct FixtureReader {
    struct Tensor { let shape: [Int]; let values: [Double] }

    func cases(_ layer: String) throws -> [[String: Any]] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "layer-reference", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let all = try XCTUnwrap(root["cases"] as? [[String: Any]])
        return all.filter { $0["layer"] as? String == layer }
    }

    func tensor(_ raw: [String: Any], _ key: String) throws -> Tensor {
        let entry = try XCTUnwrap(raw[key] as? [String: Any], key)
        return Tensor(shape: try XCTUnwrap(entry["shape"] as? [NSNumber]).map(\.intValue),
                      values: try XCTUnwrap(entry["values"] as? [NSNumber]).map(\.doubleValue))
    }

    func values(_ raw: [String: Any], _ key: String) throws -> [Double] {
        try XCTUnwrap(raw[key] as? [NSNumber], key).map(\.doubleValue)
    }

    func int(_ raw: [String: Any], _ key: String) throws -> Int { try XCTUnwrap(raw[key] as? NSNumber, key).intValue }

    /// Float32 sums over a few terms of order one: 1e-4 relative to the largest value.
    func assertClose(_ got: [Double], _ want: [Double], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, "\(label): count", file: file, line: line)
        let scale = max(1, want.map(abs).max() ?? 1)
        var worst = 0.0, at = 0
        for (i, (g, w)) in zip(got, want).enumerated() where abs(g - w) > worst { worst = abs(g - w); at = i }
        XCTAssertLessThan(worst / scale, 1e-4, "\(label): worst at \(at)", file: file, line: line)
    }
}

