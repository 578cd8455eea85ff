import Datasets
import Foundation
import VAE
import XCTest
@testable import Explain

/// The whole export on a small untrained model: the arrays against a direct computation, the
/// files, the pictures and the report.
final class ExportTests: XCTestCase {
    static let latent = 4

    func makeModel(seed: UInt64 = 3) -> VAEModel {
        VAEModel(config: ModelConfig(inputDim: 784, encoderHidden: [32], latent: Self.latent), seed: seed)
    }

    func options(_ dir: String) -> ExplainOptions {
        var o = ExplainOptions(outDir: dir)
        o.iwaeK = 5
        o.batchSize = 7          // several batches, the last one partial
        o.samples = [0, 11]
        o.seed = 42
        o.topDimensions = 3
        o.gallerySize = 6
        o.priorSamples = 8
        o.neighbours = 3
        o.classNames = ExplainOptions.fashionMNISTClassNames
        return o
    }

    func testArraysMatchADirectComputation() throws {
        let dir = try temporaryDirectory(self)
        let model = makeModel()
        let data = SyntheticData.make(count: 23, factors: 2, seed: 5)
        let train = SyntheticData.make(count: 40, factors: 2, seed: 5, firstIndex: 1000)
        var logged: [String] = []
        let summary = try ExplainExport.run(model: model, dataset: data, trainSet: train, options: options(dir),
                                            communicator: nil, checkpointInfo: ["checkpoint": "/x/ckpt.safetensors", "checkpoint_checksum": "abc"],
                                            log: { logged.append($0) })
        XCTAssertEqual(summary.count, 23)
        XCTAssertEqual(summary.latent, Self.latent)
        XCTAssertFalse(logged.isEmpty)

        let n = 23, d = Self.latent, D = 784
        let mu = try npyFloats(dir + "/mu.npy"), logvar = try npyFloats(dir + "/logvar.npy")
        let kl = try npyFloats(dir + "/kl_per_dim.npy")
        XCTAssertEqual(mu.shape, [n, d]); XCTAssertEqual(logvar.shape, [n, d]); XCTAssertEqual(kl.shape, [n, d])
        let negELBO = try npyFloats(dir + "/neg_elbo.npy"), recon = try npyFloats(dir + "/recon.npy")
        let iwae = try npyFloats(dir + "/neg_log_px_iwae.npy")
        XCTAssertEqual(negELBO.shape, [n]); XCTAssertEqual(recon.shape, [n]); XCTAssertEqual(iwae.shape, [n])
        let labels = try NPYReader.read(path: dir + "/labels.npy")
        XCTAssertEqual(labels.shape, [n])
        XCTAssertEqual(labels.floats().map { Int32($0) }, data.labels)

        // Recompute a few samples alone, through a fresh Evaluator, with the same noise keys and
        // the same global indices: a sample's values come from its canonical block whatever the
        // batch it is computed in, so they agree bit for bit (see EvaluationBlocks).
        let evaluator = Evaluator(model: model)
        var x = [Float](repeating: 0, count: D)
        var m = [Float](repeating: 0, count: d), l = m
        for i in [0, 6, 7, 22] {
            data.copySample(i, into: &x)
            evaluator.encode(batch: 1, input: x, mu: &m, logvar: &l, firstIndex: i)
            let e = evaluator.evaluate(batch: 1, input: x, noiseSeed: 42, firstSampleIndex: i, iwaeK: 5)[0]
            var klSum: Float = 0
            for j in 0..<d {
                XCTAssertEqual(mu.values[i * d + j].bitPattern, m[j].bitPattern, "mu[\(i), \(j)]")
                XCTAssertEqual(logvar.values[i * d + j].bitPattern, l[j].bitPattern, "logvar[\(i), \(j)]")
                let expected = 0.5 * (m[j] * m[j] + expf(l[j]) - 1 - l[j])
                XCTAssertEqual(kl.values[i * d + j], expected, accuracy: 1e-5, "kl[\(i), \(j)]")
                klSum += kl.values[i * d + j]
            }
            XCTAssertEqual(negELBO.values[i], Float(e.negativeELBO), "neg_elbo[\(i)]")
            XCTAssertEqual(recon.values[i], Float(e.recon), "recon[\(i)]")
            XCTAssertEqual(iwae.values[i], Float(try XCTUnwrap(e.iwaeNLL)), "neg_log_px_iwae[\(i)]")
            XCTAssertEqual(Double(klSum), e.kl, accuracy: 1e-4 * max(1, e.kl))
        }
        // Summary figures against the arrays.
        let meanELBO = negELBO.values.reduce(0.0) { $0 + Double($1) } / Double(n)
        XCTAssertEqual(summary.meanNegELBO, meanELBO, accuracy: 1e-6 * max(1, abs(meanELBO)))
        let mean0 = (0..<n).reduce(0.0) { $0 + Double(mu.values[$1 * d]) } / Double(n)
        let var0 = (0..<n).reduce(0.0) { $0 + pow(Double(mu.values[$1 * d]) - mean0, 2) } / Double(n)
        XCTAssertEqual(summary.dimensions[0].posteriorMeanVariance, var0, accuracy: 1e-9 + 1e-6 * var0)
        XCTAssertEqual(summary.activeUnits, summary.dimensions.filter { $0.posteriorMeanVariance > 0.01 }.count)
        let sortedKL = summary.dimensionsByKL.map { summary.dimensions[$0].meanKL }
        XCTAssertEqual(sortedKL, sortedKL.sorted(by: >))
        XCTAssertEqual(summary.mostTypical.first?.index, negELBO.values.indices.min { negELBO.values[$0] < negELBO.values[$1] })
        XCTAssertEqual(summary.leastTypical.first?.index, negELBO.values.indices.max { negELBO.values[$0] < negELBO.values[$1] })
        XCTAssertEqual(summary.mostAnomalous.first?.index, iwae.values.indices.max { iwae.values[$0] < iwae.values[$1] })
        XCTAssertEqual(summary.anomalyScore, "neg_log_px_iwae")
        XCTAssertEqual(summary.provenance["checkpoint"], "/x/ckpt.safetensors")
        XCTAssertEqual(summary.provenance["iwae_k"], "5")

        // Per-sample: neighbours really are the closest training codes.
        let s = try XCTUnwrap(summary.samples.first { $0.index == 11 })
        var trainMu = [Float](repeating: 0, count: 40 * d)
        for t in 0..<40 {
            train.copySample(t, into: &x)
            evaluator.encode(batch: 1, input: x, mu: &m, logvar: &l, firstIndex: t)
            for j in 0..<d { trainMu[t * d + j] = m[j] }
        }
        let query = Array(mu.values[(11 * d)..<(12 * d)])
        let distances = (0..<40).map { t in (0..<d).reduce(0.0) { $0 + pow(Double(trainMu[t * d + $1] - query[$1]), 2) }.squareRoot() }
        let expected = Array(distances.indices.sorted { distances[$0] < distances[$1] }.prefix(3))
        XCTAssertEqual(s.neighbours.map(\.index), expected)
        XCTAssertEqual(s.neighbours[0].distance, distances[expected[0]], accuracy: 1e-4)
        XCTAssertEqual(s.topDimensions.count, d)
        XCTAssertEqual(s.std[0], Double(expf(0.5 * logvar.values[11 * d])), accuracy: 1e-6)

        // Other ranks receive the summary as JSON from rank 0: it must come back whole.
        XCTAssertEqual(try ExplainSummary.decode(transport: try summary.transport()), summary)
    }

    /// summary.json is written last, so its presence says the export finished: an export that
    /// stops part way over an earlier one must not leave that one's summary and report beside
    /// its own new arrays, which would pass for a finished export that never happened.
    func testAnExportThatStopsPartWayLeavesNoSummaryOfAnEarlierOne() throws {
        let dir = try temporaryDirectory(self)
        let data = SyntheticData.make(count: 30, factors: 3, seed: 9)
        var o = options(dir)
        o.samples = []
        _ = try ExplainExport.run(model: makeModel(), dataset: data, trainSet: nil, options: o, communicator: nil,
                                  checkpointInfo: [:], log: { _ in })
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/summary.json"))
        // The second export fails after its arrays: a directory stands where a picture goes.
        try FileManager.default.removeItem(atPath: dir + "/reconstructions.png")
        try FileManager.default.createDirectory(atPath: dir + "/reconstructions.png", withIntermediateDirectories: false)
        o.iwaeK = 3
        XCTAssertThrowsError(try ExplainExport.run(model: makeModel(seed: 4), dataset: data, trainSet: nil, options: o,
                                                   communicator: nil, checkpointInfo: [:], log: { _ in }))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/mu.npy")).count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/summary.json"), "an unfinished export kept an earlier summary")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/report.html"), "an unfinished export kept an earlier report")
    }

    func testFilesPicturesAndReport() throws {
        let dir = try temporaryDirectory(self)
        let hostile = "<script>alert('pwned')</script>"
        let base = SyntheticData.make(count: 30, factors: 3, seed: 9)
        var bytes = [UInt8](repeating: 0, count: 30 * 784)
        var row = [Float](repeating: 0, count: 784)
        for i in 0..<30 {
            base.copySample(i, into: &row)
            for p in 0..<784 { bytes[i * 784 + p] = UInt8((row[p] * 255).rounded()) }
        }
        let data = try Dataset(name: hostile, sampleShape: [28, 28], bytes: bytes, labels: base.labels)
        var o = options(dir)
        o.samples = [3]
        let summary = try ExplainExport.run(model: makeModel(), dataset: data, trainSet: nil, options: o, communicator: nil,
                                            checkpointInfo: ["checkpoint": "ckpt \(hostile)"], log: { _ in })
        let files = listFiles(dir)
        let expected = ["mu.npy", "logvar.npy", "kl_per_dim.npy", "neg_elbo.npy", "recon.npy", "neg_log_px_iwae.npy",
                        "labels.npy", "summary.json", "dimensions.csv", "kl_per_dim_sorted.csv", "classes.csv",
                        "typicality.csv", "reconstructions.png", "traversals.png", "prior_samples.png", "saliency.png",
                        "occlusion.png", "latent_scatter.png", "latent_scatter.svg", "anomalies.png", "typical.png",
                        "report.html", "samples/3/posterior.csv", "samples/3/saliency.png", "samples/3/occlusion.png",
                        "samples/3/neighbours.png", "samples/3/traversal.png"]
        XCTAssertEqual(files, expected.sorted())
        XCTAssertEqual(summary.files.sorted(), expected.sorted())

        // Every PNG decodes (signature, CRCs, zlib, filters) to the size its grid implies.
        var decodedPNGs: [String: DecodedPNG] = [:]
        for f in files where f.hasSuffix(".png") {
            decodedPNGs[f] = try PNGDecoder.decode(try readBytes(dir + "/" + f))
        }
        let up = o.upscale, tile = 28 * up
        let traversal = try XCTUnwrap(decodedPNGs["traversals.png"])
        XCTAssertEqual(traversal.width, 2 + o.traversalSteps * (tile + 2))
        XCTAssertEqual(traversal.height, 2 + o.topDimensions * (tile + 2))
        let prior = try XCTUnwrap(decodedPNGs["prior_samples.png"])
        XCTAssertEqual(prior.height, 2 + 1 * (tile + 2))       // 8 samples, 8 per row
        let recon = try XCTUnwrap(decodedPNGs["reconstructions.png"])
        XCTAssertEqual(recon.height, 2 + 2 * (tile + 2))       // 6 samples: one pair of rows
        // The first original tile is the first sample, upscaled.
        var first = [Float](repeating: 0, count: 784)
        data.copySample(0, into: &first)
        for (y, x) in [(0, 0), (14, 14), (27, 5), (9, 20)] {
            let v = unitToByte(first[y * 28 + x])
            let o = ((2 + y * up) * recon.width + 2 + x * up) * recon.channels
            XCTAssertEqual(recon.pixels[o], v, "pixel \(x),\(y)")
        }

        // The report: self-contained, escaped, every picture inlined and decodable.
        let html = String(decoding: try readBytes(dir + "/report.html"), as: UTF8.self)
        XCTAssertFalse(html.lowercased().contains("<script"), "unescaped text from the data")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"))
        for bad in ["http:", "https:", "src=\"/", "href=\"/", "url(", "@import", "<iframe", "<link"] {
            XCTAssertFalse(html.contains(bad), "report references \(bad)")
        }
        let srcs = html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(srcs.count, files.filter { $0.hasSuffix(".png") }.count)
        for src in srcs {
            XCTAssertTrue(src.hasPrefix("data:image/png;base64,"))
            let data = try XCTUnwrap(Data(base64Encoded: String(src.dropFirst("data:image/png;base64,".count))))
            XCTAssertNoThrow(try PNGDecoder.decode([UInt8](data)))
        }
        XCTAssertGreaterThanOrEqual(html.components(separatedBy: "<svg").count - 1, 4)

        // summary.json is JSON with the documented keys; the tables have a row per item.
        let json = try JSONSerialization.jsonObject(with: Data(try readBytes(dir + "/summary.json"))) as? [String: Any]
        for key in ["active_units", "dimensions", "dimensions_by_kl", "classes", "most_typical", "least_typical",
                    "provenance", "mean_neg_elbo", "mean_neg_log_px_iwae", "samples", "files", "iwae_k",
                    "most_anomalous", "anomaly_score"] {
            XCTAssertNotNil(json?[key], key)
        }
        let dims = String(decoding: try readBytes(dir + "/dimensions.csv"), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(dims.count, 1 + Self.latent)
        XCTAssertEqual(dims[0], "dim,posterior_mean_variance,active,mean_kl,aggregate_mean,aggregate_std")
        let classes = String(decoding: try readBytes(dir + "/classes.csv"), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(classes.count, 1 + Set(data.labels ?? []).count)
        let svg = String(decoding: try readBytes(dir + "/latent_scatter.svg"), as: UTF8.self)
        XCTAssertTrue(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    }

    /// Runs check_report.sh (headless Chromium: every <img> decoded) when Chromium is installed.
    func testReportShowsEveryImageInChromium() throws {
        try requireChromium()
        let dir = try temporaryDirectory(self)
        var o = options(dir)
        o.samples = [1]
        // The run's curves open the report: each must be drawn, not only present in the markup.
        let metrics = dir + "-metrics.jsonl"
        try MetricsFixture.text(epochs: 3).write(toFile: metrics, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: metrics) }
        o.runMetricsPath = metrics
        _ = try ExplainExport.run(model: makeModel(), dataset: SyntheticData.make(count: 12, factors: 2, seed: 3), trainSet: nil,
                                  options: o, communicator: nil, checkpointInfo: [:], log: { _ in })
        let (status, text) = try checkReportInChromium(dir + "/report.html")
        let pngCount = listFiles(dir).filter { $0.hasSuffix(".png") }.count
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("images \(pngCount)/\(pngCount)"), text)
        XCTAssertTrue(text.contains(" curves 9"), "the training run's 9 curves should be drawn: \(text)")
    }

    func testNumpyReadsEveryArray() throws {
        let dir = try temporaryDirectory(self)
        var o = options(dir)
        o.samples = []
        o.writeReport = false
        let data = SyntheticData.make(count: 9, factors: 2, seed: 1)
        _ = try ExplainExport.run(model: makeModel(), dataset: data, trainSet: nil, options: o, communicator: nil,
                                  checkpointInfo: [:], log: { _ in })
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/report.html"))
        let script = """
        import numpy as np, sys
        d = sys.argv[1] if len(sys.argv) > 1 else '\(dir)'
        for name in ['mu', 'logvar', 'kl_per_dim', 'neg_elbo', 'recon', 'neg_log_px_iwae', 'labels']:
            a = np.load(d + '/' + name + '.npy')
            print(name, a.dtype.str, 'x'.join(map(str, a.shape)), bool(np.all(np.isfinite(a))))
        mu = np.load(d + '/mu.npy'); lv = np.load(d + '/logvar.npy'); kl = np.load(d + '/kl_per_dim.npy')
        print('klcheck', float(np.max(np.abs(0.5 * (mu**2 + np.exp(lv) - 1 - lv) - kl))) < 1e-5)
        """
        guard let out = try runNumpy(script) else { throw XCTSkip("python3 with numpy is not installed") }
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, [
            "mu <f4 9x\(Self.latent) True", "logvar <f4 9x\(Self.latent) True", "kl_per_dim <f4 9x\(Self.latent) True",
            "neg_elbo <f4 9 True", "recon <f4 9 True", "neg_log_px_iwae <f4 9 True", "labels <i4 9 True", "klcheck True",
        ])
    }

    func testTabularDataSkipsPicturesAndKZeroSkipsIWAE() throws {
        let dir = try temporaryDirectory(self)
        let n = 12, D = 784
        let values = (0..<(n * D)).map { Float(($0 * 7919) % 1000) / 1000 }
        let data = try Dataset(name: "table.csv", sampleShape: [D], floats: values)
        var o = options(dir)
        o.iwaeK = 0
        o.samples = [2]
        let summary = try ExplainExport.run(model: makeModel(), dataset: data, trainSet: nil, options: o, communicator: nil,
                                            checkpointInfo: [:], log: { _ in })
        let files = listFiles(dir)
        XCTAssertFalse(files.contains { $0.hasSuffix(".png") })
        XCTAssertFalse(files.contains("neg_log_px_iwae.npy"))
        XCTAssertFalse(files.contains("labels.npy"))
        XCTAssertTrue(files.contains("report.html"))
        XCTAssertTrue(files.contains("samples/2/posterior.csv"))
        XCTAssertNil(summary.meanNegLogPxIWAE)
        XCTAssertEqual(summary.anomalyScore, "neg_elbo")
        XCTAssertTrue(summary.classes.isEmpty)
        XCTAssertEqual(summary.samples.first?.neighbours.count, 3)
        XCTAssertFalse(summary.samples.first?.neighbours.contains { $0.index == 2 } ?? true, "a sample is not its own neighbour")
    }

    /// Real-valued images (a Gaussian model's data, here 0...255 with some values below 0) are
    /// drawn on a scale that covers their values, not clipped to [0, 1] as if they were pixel
    /// intensities: clipped, every value above 1 was white and the pictures showed nothing.
    func testRealValuedImagesAreDrawnOnTheirOwnScale() throws {
        let dir = try temporaryDirectory(self)
        let n = 6, side = 28
        // Sample i, pixel (y, x): a ramp along x from -20 to 250, shifted a little per sample.
        let values = (0..<(n * side * side)).map { k -> Float in
            let x = k % side, i = k / (side * side)
            return -20 + Float(x * 10) + Float(i)
        }
        let data = try Dataset(name: "ramps.npy", sampleShape: [side, side], floats: values)
        let model = VAEModel(config: ModelConfig(inputDim: side * side, encoderHidden: [16], latent: 2,
                                                 likelihood: .gaussianFixed(variance: 1)), seed: 5)
        var o = options(dir)
        o.classNames = []
        o.samples = []
        let occlusionGrey: Float = 0.25
        o.occlusionValue = occlusionGrey
        _ = try ExplainExport.run(model: model, dataset: data, trainSet: nil, options: o, communicator: nil,
                                  checkpointInfo: [:], log: { _ in })
        let recon = try PNGDecoder.decode(try readBytes(dir + "/reconstructions.png"))
        let (low, high) = (Float(-20), Float(-20 + 270 + n - 1))
        func byte(_ v: Float) -> UInt8 { UInt8(((v - low) / (high - low) * 255).rounded()) }
        var greys: Set<UInt8> = []
        for x in [0, 2, 9, 27] {
            let v = values[5 * side + x]          // the first sample, row 5
            let at = ((2 + 5 * o.upscale) * recon.width + 2 + x * o.upscale) * recon.channels
            XCTAssertEqual(recon.pixels[at], byte(v), "first original, pixel x \(x) of value \(v)")
            greys.insert(recon.pixels[at])
        }
        XCTAssertEqual(greys.count, 4, "distinct values show as distinct greys")

        // Occlusion greys a patch with the grey level occlusionValue on that same scale, in the
        // data's units: check one patch's posterior change against an encoding by hand.
        let probe = ModelProbe(model: model, maxBatch: 64)
        let shape = try XCTUnwrap(ImageShape(sampleShape: [side, side], values: data.valueRange))
        let x = data.rows([0])
        let map = OcclusionMap.compute(input: x, shape: shape, patch: o.occlusionPatch, grey: occlusionGrey, probe: probe)
        var occluded = x
        for y in 0..<4 { for xx in 4..<8 { occluded[y * side + xx] = low + occlusionGrey * (high - low) } }
        let base = probe.encode(x, rows: 1).mu, moved = probe.encode(occluded, rows: 1).mu
        let norm = zip(moved, base).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        XCTAssertEqual(map.magnitude[1 * side + 5], norm, accuracy: 1e-4 + 1e-4 * norm)
    }

    func testBadInputThrowsOneLineErrors() throws {
        let dir = try temporaryDirectory(self)
        let data = SyntheticData.make(count: 5, factors: 1, seed: 1)
        var o = options(dir)
        o.samples = [5]
        XCTAssertThrowsError(try ExplainExport.run(model: makeModel(), dataset: data, trainSet: nil, options: o,
                                                   communicator: nil, checkpointInfo: [:], log: { _ in })) { e in
            XCTAssertEqual("\(e)", "explain --sample 5: expected an index of the evaluation set in 0..<5, found 5")
        }
        o.samples = []
        let small = try Dataset(name: "tiny.npy", sampleShape: [3], floats: [0, 1, 2])
        XCTAssertThrowsError(try ExplainExport.run(model: makeModel(), dataset: small, trainSet: nil, options: o,
                                                   communicator: nil, checkpointInfo: [:], log: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("tiny.npy"), "\(e)")
            XCTAssertTrue("\(e)".contains("784"), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        // An output path that is a file.
        let file = dir + "/plain-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data([1])))
        o.outDir = file
        XCTAssertThrowsError(try ExplainExport.run(model: makeModel(), dataset: data, trainSet: nil, options: o,
                                                   communicator: nil, checkpointInfo: [:], log: { _ in })) { e in
            XCTAssertTrue("\(e)".hasPrefix(file), "\(e)")
        }
    }

    func testSaliencyMatchesFiniteDifferences() throws {
        // The picture's saliency comes from Evaluator.posteriorMeanGradient; check one pixel of
        // it against a central difference of the encoder, so the maps show what they claim.
        let model = makeModel(seed: 11)
        let probe = ModelProbe(model: model, maxBatch: 4)
        let data = SyntheticData.make(count: 1, factors: 2, seed: 2)
        let x = data.rows([0])
        let g = probe.saliency(x, rows: 1, dimension: 1)
        for pixel in [300, 410, 520] {
            var plus = x, minus = x
            plus[pixel] += 1e-2; minus[pixel] -= 1e-2
            let fd = (probe.encode(plus, rows: 1).mu[1] - probe.encode(minus, rows: 1).mu[1]) / 2e-2
            XCTAssertEqual(g[pixel], fd, accuracy: 2e-3 + 2e-2 * abs(fd), "pixel \(pixel)")
        }
    }

    func testOcclusionMeasuresPosteriorChange() throws {
        let model = makeModel(seed: 4)
        let probe = ModelProbe(model: model, maxBatch: 64)
        let data = SyntheticData.make(count: 1, factors: 2, seed: 2)
        let x = data.rows([0])
        let shape = try XCTUnwrap(ImageShape(sampleShape: [28, 28]))
        let map = OcclusionMap.compute(input: x, shape: shape, patch: 7, grey: 0.5, probe: probe)
        // Patch (row 1, column 2) covers pixels y 7..<14, x 14..<21: recompute it by hand.
        var occluded = x
        for y in 7..<14 { for xx in 14..<21 { occluded[y * 28 + xx] = 0.5 } }
        let base = probe.encode(x, rows: 1).mu, moved = probe.encode(occluded, rows: 1).mu
        let delta = zip(moved, base).map { $0 - $1 }
        let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(map.magnitude[10 * 28 + 17], norm, accuracy: 1e-5)
        XCTAssertEqual(map.change(dimension: 2)[13 * 28 + 14], delta[2], accuracy: 1e-6)
        XCTAssertEqual(map.magnitude.count, 784)
    }
}
