import Foundation
import XCTest
@testable import VAE

/// The float64 PyTorch reference in Fixtures/vae-reference.json, decoded loosely.
struct ReferenceFixture {
    struct Case {
        let likelihood: String
        let mu, logvar, z, decoderOutput: [Double]
        let reconPerSample, klPerSample: [Double]
        let lossMean: Double
        let grads: [String: [Double]]
        let iwaeBound: [Double]
    }

    let inputDim, latent, batch, iwaeSamples: Int
    let encoderHidden, decoderHidden: [Int]
    let x, eps, epsIWAE: [Double]
    let params: [String: (shape: [Int], values: [Double])]
    let cases: [Case]

    static func load() throws -> ReferenceFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "vae-reference", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func doubles(_ any: Any?) throws -> [Double] { try XCTUnwrap(any as? [NSNumber]).map(\.doubleValue) }
        func ints(_ any: Any?) throws -> [Int] { try XCTUnwrap(any as? [NSNumber]).map(\.intValue) }
        var params: [String: (shape: [Int], values: [Double])] = [:]
        for (name, value) in try XCTUnwrap(root["params"] as? [String: Any]) {
            let entry = try XCTUnwrap(value as? [String: Any])
            params[name] = (try ints(entry["shape"]), try doubles(entry["values"]))
        }
        var cases: [Case] = []
        for raw in try XCTUnwrap(root["cases"] as? [[String: Any]]) {
            var grads: [String: [Double]] = [:]
            for (name, value) in try XCTUnwrap(raw["grads_of_loss_mean"] as? [String: Any]) { grads[name] = try doubles(value) }
            cases.append(Case(
                likelihood: try XCTUnwrap(raw["likelihood"] as? String),
                mu: try doubles(raw["mu"]), logvar: try doubles(raw["logvar"]), z: try doubles(raw["z"]),
                decoderOutput: try doubles(raw["decoder_output"]),
                reconPerSample: try doubles(raw["recon_per_sample"]), klPerSample: try doubles(raw["kl_per_sample"]),
                lossMean: try XCTUnwrap((raw["loss_mean"] as? NSNumber)?.doubleValue), grads: grads,
                iwaeBound: try doubles(raw["iwae_log_px_lower_bound_per_sample"])))
        }
        return ReferenceFixture(
            inputDim: try XCTUnwrap((root["input_dim"] as? NSNumber)?.intValue),
            latent: try XCTUnwrap((root["latent_dim"] as? NSNumber)?.intValue),
            batch: try XCTUnwrap((root["batch"] as? NSNumber)?.intValue),
            iwaeSamples: try XCTUnwrap((root["iwae_samples"] as? NSNumber)?.intValue),
            encoderHidden: try ints(root["encoder_hidden"]), decoderHidden: try ints(root["decoder_hidden"]),
            x: try doubles(root["x"]), eps: try doubles(root["eps"]), epsIWAE: try doubles(root["eps_iwae"]),
            params: params, cases: cases)
    }

    func config(likelihood: String) -> ModelConfig {
        ModelConfig(inputDim: inputDim, encoderHidden: encoderHidden, latent: latent, decoderHidden: decoderHidden,
                    activation: .relu, likelihood: likelihood == "bernoulli" ? .bernoulli : .gaussianFixed(variance: 1))
    }

    /// A model whose arena holds the fixture's parameters (every tensor must be present).
    func model(likelihood: String) throws -> VAEModel {
        let model = VAEModel(config: config(likelihood: likelihood), seed: 1)
        XCTAssertEqual(Set(model.layout.map(\.name)), Set(params.keys), "tensor names differ from the fixture")
        for spec in model.layout {
            let p = try XCTUnwrap(params[spec.name], "fixture lacks \(spec.name)")
            XCTAssertEqual(p.shape, spec.shape, spec.name)
            let dst = try XCTUnwrap(model.parameter(named: spec.name))
            for i in 0..<spec.count { dst[i] = Float(p.values[i]) }
        }
        return model
    }
}

/// |a - b| <= abs + rel·|b| elementwise, with the first offender in the message.
func assertClose(_ a: [Double], _ b: [Double], rel: Double = 2e-5, abs: Double = 2e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    for i in 0..<min(a.count, b.count) where !(Swift.abs(a[i] - b[i]) <= abs + rel * Swift.abs(b[i])) {
        XCTFail("\(what)[\(i)]: \(a[i]) vs reference \(b[i])", file: file, line: line)
        return
    }
}
