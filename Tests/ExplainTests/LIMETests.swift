import Datasets
import Foundation
import VAE
import XCTest
@testable import Explain

/// A model whose targets are linear in the input, f_t(x) = c_t + a_t . x: LIME must give back
/// a_t summed over each segment (times the change a switched-off segment makes) with fidelity 1.
final class LinearQuantities: PosteriorQuantities {
    let inputDim: Int
    let targets: [PosteriorTarget]
    let a: [[Float]], c: [Float]

    init(a: [[Float]], c: [Float]) {
        self.a = a; self.c = c
        inputDim = a[0].count
        targets = c.indices.map { PosteriorTarget(name: "linear_\($0)", meaning: "a linear function", latentDimension: nil) }
    }

    func evaluate(rows: Int, input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for t in targets.indices {
                var s = c[t]
                for p in 0..<inputDim { s += a[t][p] * input[r * inputDim + p] }
                out[r * targets.count + t] = s
            }
        }
    }
}

final class LIMETests: XCTestCase {
    func testKernelAgainstAHandComputedCase() {
        let k = LIMEKernel(width: 0.25)
        // 1 of 4 kept: cosine 1/2, distance 1/2, weight exp(-0.25 / 0.0625) = exp(-4).
        XCTAssertEqual(LIMEKernel.distance(kept: 1, of: 4), 0.5, accuracy: 1e-15)
        XCTAssertEqual(k.weight(distance: 0.5), exp(-4.0), accuracy: 1e-15)
        XCTAssertEqual(LIMEKernel.distance(kept: 4, of: 4), 0, accuracy: 1e-15)
        XCTAssertEqual(LIMEKernel.distance(kept: 0, of: 4), 1)
        let mask: [Float] = [1, 0, 0, 1, 1, 1, 0, 0, 0]   // 4 of 9: d = 1 - 2/3
        XCTAssertEqual(k.weight(mask: mask, segments: 9), exp(-pow(1.0 / 3, 2) / 0.0625), accuracy: 1e-12)
        XCTAssertEqual(k.weight(mask: [1, 1, 1], segments: 3), 1)
    }

    func testRidgeAgainstAHandComputedCase() throws {
        // z = [0, 1, 1], y = [1, 3, 4], w = [1, 1, 2], lambda = 1: the normal equations are
        // [[4, 3], [3, 4]] [b, beta] = [12, 11], so b = 15/7, beta = 8/7; residuals -8/7, -2/7, 5/7
        // give a weighted SSE of 118/49 against a weighted total of 6 around the mean 3.
        let fit = try WeightedRidge.fit(z: [0, 1, 1], y: [1, 3, 4], weights: [1, 1, 2], rows: 3, features: 1, targets: 1, lambda: 1)
        XCTAssertEqual(fit.intercepts[0], 15.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(fit.coefficients[0], 8.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(fit.r2[0], 1 - 118.0 / 294, accuracy: 1e-12)
        // Without the penalty: the weighted least-squares line through (0, 1) and the weighted mean
        // 11/3 at z = 1: slope 8/3.
        let plain = try WeightedRidge.fit(z: [0, 1, 1], y: [1, 3, 4], weights: [1, 1, 2], rows: 3, features: 1, targets: 1, lambda: 0)
        XCTAssertEqual(plain.intercepts[0], 1, accuracy: 1e-12)
        XCTAssertEqual(plain.coefficients[0], 8.0 / 3, accuracy: 1e-12)
        // A constant target has no variance to explain.
        let flat = try WeightedRidge.fit(z: [0, 1, 1], y: [2, 2, 2], weights: [1, 1, 1], rows: 3, features: 1, targets: 1)
        XCTAssertTrue(flat.r2[0].isNaN)
        // A singular system without a penalty is refused with one line, not a crash.
        XCTAssertThrowsError(try WeightedRidge.fit(z: [1, 1], y: [1, 2], weights: [1, 1], rows: 2, features: 1, targets: 1, lambda: 0)) {
            XCTAssertFalse("\($0)".contains("\n"))
        }
    }

    func makeImages(count: Int, side: Int) throws -> Dataset {
        var random = SplitMix64(keys: 9, 9)
        let values = (0..<(count * side * side)).map { _ in random.nextUnitFloat() }
        return try Dataset(name: "noise", sampleShape: [side, side], floats: values, labels: (0..<count).map { Int32($0 % 3) })
    }

    func testALinearModelIsExplainedByItsOwnCoefficients() throws {
        let side = 8, D = side * side
        let data = try makeImages(count: 5, side: side)
        var random = SplitMix64(keys: 1, 2)
        let a = (0..<2).map { _ in (0..<D).map { _ in random.nextUnitFloat() - 0.5 } }
        let model = LinearQuantities(a: a, c: [0.5, -2])
        var settings = LIMESettings()
        settings.perturbations = 64
        settings.batchRows = 10
        settings.ridge = 0
        settings.explainedSamples = 2
        for baseline in [LIMEBaseline.mean, .constant(0.25), .blur(1)] {
            settings.baseline = baseline
            let shape = ImageShape(sampleShape: data.sampleShape)
            let plan = LIMEPlan(dataset: data, settings: settings, seed: 4, requested: [3], shape: shape)
            XCTAssertEqual(plan.samples, [3, 0])
            let evaluations = try XCTUnwrap(try LIMEDriver.run(plan: plan, quantities: model, communicator: nil))
            let explanations = try LIMEFit.fit(evaluations) { _ in true }
            for (slot, e) in explanations.enumerated() {
                let x = plan.inputs[slot], b = plan.baselines[slot]
                XCTAssertEqual(e.segmentation.count, 4)
                for t in 0..<2 {
                    XCTAssertEqual(e.fit.r2[t], 1, accuracy: 1e-9, "\(baseline) sample \(e.index) target \(t)")
                    var expected = [Double](repeating: 0, count: 4), base = Double(model.c[t])
                    for p in 0..<D {
                        expected[Int(e.segmentation.labels[p])] += Double(a[t][p]) * Double(x[p] - b[p])
                        base += Double(a[t][p]) * Double(b[p])
                    }
                    for j in 0..<4 { XCTAssertEqual(e.weights(t)[j], expected[j], accuracy: 1e-4, "\(baseline) segment \(j)") }
                    XCTAssertEqual(e.fit.intercepts[t], base, accuracy: 1e-4)
                }
            }
        }
    }

    func testMasksAreKeyedAndHalfKept() {
        let m = PerturbationMasks(seed: 7, sample: 12, segments: 100)
        XCTAssertEqual(m.masks(0..<1), [Float](repeating: 1, count: 100))   // the sample itself first
        let all = m.masks(0..<200)
        XCTAssertEqual(Array(all[(150 * 100)..<(151 * 100)]), m.masks(150..<151), "a mask does not depend on its neighbours")
        XCTAssertEqual(all, PerturbationMasks(seed: 7, sample: 12, segments: 100).masks(0..<200))
        XCTAssertNotEqual(all, PerturbationMasks(seed: 7, sample: 13, segments: 100).masks(0..<200))
        XCTAssertNotEqual(all, PerturbationMasks(seed: 8, sample: 12, segments: 100).masks(0..<200))
        let kept = all[100...].reduce(0, +) / Float(199 * 100)
        XCTAssertEqual(kept, 0.5, accuracy: 0.02)
        XCTAssertTrue(all.allSatisfy { $0 == 0 || $0 == 1 })

        let seg = Segmentation.grid(height: 2, width: 4, cell: 2)   // two cells: left, right
        var out = [Float](repeating: 0, count: 8)
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8], b = [Float](repeating: -1, count: 8)
        PerturbationMasks.apply(mask: [0, 1], segmentation: seg, sample: x, baseline: b, into: &out)
        XCTAssertEqual(out, [-1, -1, 3, 4, -1, -1, 7, 8])
    }

    func testBaselines() throws {
        let data = try Dataset(name: "two", sampleShape: [2, 3], floats: [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(LIMEBaseline.meanSample(data), [1, 2, 3, 4, 5, 6])
        let shape = ImageShape(sampleShape: [2, 3], values: 0...7)!
        // A grey level of the pictures' scale, which here spans 0...7.
        XCTAssertEqual(LIMEBaseline.constant(0.5).values(for: [Float](repeating: 0, count: 6), shape: shape, mean: []),
                       [Float](repeating: 3.5, count: 6))
        XCTAssertEqual(LIMEBaseline.constant(0.5).values(for: [0, 0], shape: nil, mean: []), [0.5, 0.5])
        // Blurring keeps a flat image flat and spreads a point symmetrically, conserving its mass
        // away from the edges.
        XCTAssertEqual(LIMEBaseline.gaussianBlur([Float](repeating: 2, count: 25), height: 5, width: 5, sigma: 1)
            .map { ($0 * 1e4).rounded() / 1e4 }, [Float](repeating: 2, count: 25))
        var point = [Float](repeating: 0, count: 15 * 15)
        point[7 * 15 + 7] = 1
        let spread = LIMEBaseline.gaussianBlur(point, height: 15, width: 15, sigma: 1)
        XCTAssertEqual(spread.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertEqual(spread[7 * 15 + 6], spread[7 * 15 + 8], accuracy: 1e-7)
        XCTAssertEqual(spread[6 * 15 + 7], spread[7 * 15 + 6], accuracy: 1e-7)
        XCTAssertLessThan(spread[7 * 15 + 6], spread[7 * 15 + 7])
        XCTAssertEqual(try LIMEBaseline.parse("blur"), .blur(2))
        XCTAssertEqual(try LIMEBaseline.parse("blur:1.5"), .blur(1.5))
        XCTAssertEqual(try LIMEBaseline.parse("constant:0"), .constant(0))
        for bad in ["", "median", "blur:0", "blur:-1", "constant", "constant:nan", "mean:1"] {
            XCTAssertThrowsError(try LIMEBaseline.parse(bad), bad) { XCTAssertTrue("\($0)".hasPrefix("--lime-baseline"), "\($0)") }
        }
    }

    func testGridSegments() throws {
        let g = Segmentation.grid(height: 5, width: 6, cell: 4)
        XCTAssertEqual(g.count, 4)
        XCTAssertEqual(g.sizes, [16, 8, 4, 2])
        XCTAssertEqual(Array(g.labels[0..<6]), [0, 0, 0, 0, 1, 1])
        XCTAssertEqual(Array(g.labels[24..<30]), [2, 2, 2, 2, 3, 3])
        XCTAssertEqual(Segmentation.grid(height: 28, width: 28, cell: 4).count, 49)
        XCTAssertEqual(Segmentation.features(5).labels, [0, 1, 2, 3, 4])
        XCTAssertEqual(try SegmentationMethod.parse("grid:4"), .grid(4))
        XCTAssertEqual(try SegmentationMethod.parse("slic:50"), .slic(50))
        for bad in ["grid", "grid:0", "slic:-3", "quickshift:4", "grid:4:4", ""] {
            XCTAssertThrowsError(try SegmentationMethod.parse(bad), bad) { XCTAssertTrue("\($0)".hasPrefix("--lime-segments"), "\($0)") }
        }
    }

    /// SLIC must follow a sharp edge and give connected segments of roughly the asked number.
    func testSLICFollowsEdgesAndGivesConnectedSegments() {
        let side = 28
        var image = [Float](repeating: 0.1, count: side * side)
        // A bright square whose edges lie off any regular grid of the asked size.
        for y in 5..<19 { for x in 9..<22 { image[y * side + x] = 0.9 } }
        let s = SLIC.segment(image, height: side, width: side, segments: 36, valueSpan: 1)
        XCTAssertGreaterThan(s.count, 18)
        XCTAssertLessThan(s.count, 72)
        XCTAssertEqual(s.sizes.reduce(0, +), side * side)
        XCTAssertTrue(s.sizes.allSatisfy { $0 > 0 })
        for l in 0..<s.count {
            let members = s.labels.indices.filter { s.labels[$0] == Int32(l) }
            let bright = members.filter { image[$0] > 0.5 }.count
            XCTAssertTrue(bright == 0 || bright == members.count, "segment \(l) straddles the square's edge")
            // Connected: a flood fill from one member reaches them all.
            var seen: Set<Int> = [members[0]], stack = [members[0]]
            while let p = stack.popLast() {
                let (y, x) = (p / side, p % side)
                for q in [(y, x - 1), (y, x + 1), (y - 1, x), (y + 1, x)] where q.0 >= 0 && q.0 < side && q.1 >= 0 && q.1 < side {
                    let i = q.0 * side + q.1
                    if s.labels[i] == Int32(l) && seen.insert(i).inserted { stack.append(i) }
                }
            }
            XCTAssertEqual(seen.count, members.count, "segment \(l) is not connected")
        }
        XCTAssertEqual(s, SLIC.segment(image, height: side, width: side, segments: 36, valueSpan: 1), "deterministic")
        // A flat image gives near-square cells, about as many as asked.
        let flat = SLIC.segment([Float](repeating: 0.5, count: side * side), height: side, width: side, segments: 49, valueSpan: 1)
        XCTAssertEqual(flat.count, 49)
        // Tiny images and requests beyond the pixel count still give a valid partition.
        let tiny = SLIC.segment([0, 1, 0, 1], height: 2, width: 2, segments: 4, valueSpan: 1)
        XCTAssertEqual(tiny.sizes.reduce(0, +), 4)
    }

    /// The answers do not depend on how the batches are shared out: every share of 2 or 3 ranks,
    /// concatenated, is the same bits as one rank's whole list (the batches themselves never
    /// change shape).
    func testAnswersDoNotDependOnTheNumberOfRanks() throws {
        let model = VAEModel(config: ModelConfig(inputDim: 784, encoderHidden: [32], latent: 3), seed: 5)
        let quantities = VAEPosteriorQuantities(model: model, maxBatch: 30)
        let data = SyntheticData.make(count: 40, factors: 2, seed: 5)
        var settings = LIMESettings()
        settings.perturbations = 70
        settings.batchRows = 30
        settings.explainedSamples = 3
        let plan = LIMEPlan(dataset: data, settings: settings, seed: 1, requested: [], shape: ImageShape(sampleShape: [28, 28]))
        XCTAssertEqual(plan.batches.count, 9)
        XCTAssertEqual(plan.batches[2].range, 60..<70)
        let whole = plan.evaluate(batches: plan.share(rank: 0, size: 1), quantities: quantities)
        XCTAssertEqual(whole.count, 3 * 70 * quantities.targets.count)
        for size in [2, 3] {
            let fresh = VAEPosteriorQuantities(model: model, maxBatch: 30)
            let parts = (0..<size).flatMap { plan.evaluate(batches: plan.share(rank: $0, size: size), quantities: fresh) }
            XCTAssertEqual(parts, whole, "\(size) ranks")
        }
        // The targets are what the model says about the perturbed input.
        let e = try LIMEDriver.split(whole, plan: plan, targets: quantities.targets)
        let evaluator = Evaluator(model: model, maxBatch: 1)
        var mu = [Float](repeating: 0, count: 3), logvar = mu
        evaluator.encode(batch: 1, input: plan.inputs[1], mu: &mu, logvar: &logvar)
        let T = quantities.targets.count
        for j in 0..<3 { XCTAssertEqual(e.outputs[1][j], mu[j], accuracy: 1e-5) }
        let kl = (0..<3).reduce(Float(0)) { $0 + PosteriorArrays.kl(mu: mu[$1], logvar: logvar[$1]) }
        XCTAssertEqual(e.outputs[1][3], kl, accuracy: 1e-4)
        XCTAssertEqual(quantities.targets.map(\.name), ["mu_0", "mu_1", "mu_2", "kl", "recon"])
        XCTAssertEqual(T, 5)
    }

    func testBadSettingsAreRefusedWithOneLine() throws {
        let shape = ImageShape(sampleShape: [28, 28])
        func refused(_ change: (inout LIMESettings) -> Void, shape: ImageShape? = shape, mentions: String,
                     file: StaticString = #filePath, line: UInt = #line) {
            var s = LIMESettings()
            change(&s)
            XCTAssertThrowsError(try s.validate(shape: shape, dimension: 784, count: 10), file: file, line: line) { error in
                let text = "\(error)"
                XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
                XCTAssertTrue(text.contains(mentions), text, file: file, line: line)
            }
        }
        refused({ $0.perturbations = 48 }, mentions: "--lime-samples 48: expected at least as many perturbations as segments (the 49 segments of grid:4")
        refused({ $0.kernelWidth = 0 }, mentions: "--lime-kernel-width")
        refused({ $0.kernelWidth = .nan }, mentions: "--lime-kernel-width")
        refused({ $0.segments = .grid(29) }, mentions: "--lime-segments grid:29: expected a cell side of at most 28")
        refused({ $0.segments = .slic(785) }, mentions: "--lime-segments slic:785")
        refused({ $0.baseline = .blur(2) }, shape: nil, mentions: "--lime-baseline blur:2.0")
        refused({ $0.perturbations = 700 }, shape: nil, mentions: "the 784 features of a table row")
        XCTAssertNoThrow(try LIMESettings().validate(shape: shape, dimension: 784, count: 10))
        var small = LIMESettings()
        small.perturbations = 49
        XCTAssertNoThrow(try small.validate(shape: shape, dimension: 784, count: 10))
    }
}

/// LIME inside the whole export: files, summary.json, the report's own section, and the report
/// opened in headless Chromium with every picture decoded.
final class LIMEExportTests: XCTestCase {
    func runExport(_ dir: String, data: Dataset, truth: FactorTruth?) throws -> ExplainSummary {
        let model = VAEModel(config: ModelConfig(inputDim: 784, encoderHidden: [32], latent: 4), seed: 3)
        var o = ExplainOptions(outDir: dir)
        o.iwaeK = 2
        o.samples = [2]
        o.gallerySize = 4
        o.priorSamples = 4
        o.neighbours = 2
        var lime = LIMESettings()
        lime.perturbations = 120
        lime.explainedSamples = 3
        o.lime = lime
        o.factorTruth = truth
        o.activeThreshold = 0
        return try ExplainExport.run(model: model, dataset: data, trainSet: nil, options: o, communicator: nil,
                                     checkpointInfo: [:], log: { _ in })
    }

    func testExportWritesSurrogatesGroundTruthAndReportSection() throws {
        let dir = try temporaryDirectory(self)
        let data = SyntheticData.make(count: 30, factors: 4, seed: 2, hardEdges: true)
        let truth = FactorTruth(factorCount: 4, values: SyntheticData.factors(count: 30, factors: 4, seed: 2),
                                regions: (0..<4).map { SyntheticData.squareRegion($0, hardEdges: true) }, names: ["a", "b", "c", "d"])
        let summary = try runExport(dir, data: data, truth: truth)
        let lime = try XCTUnwrap(summary.lime)
        XCTAssertEqual(lime.samples.count, 3)
        XCTAssertEqual(lime.samples[0].index, 2)
        XCTAssertEqual(lime.segmentation, "grid:4")
        for s in lime.samples {
            XCTAssertEqual(s.segments, 49)
            XCTAssertEqual(s.targets.map(\.target), ["mu_0", "mu_1", "mu_2", "mu_3", "kl", "recon"])
            for t in s.targets { XCTAssertLessThanOrEqual(t.r2, 1 + 1e-9) }
            let w = try npyFloats("\(dir)/lime/\(s.index)/weights.npy")
            XCTAssertEqual(w.shape, [6, 49])
            let seg = try NPYReader.read(path: "\(dir)/lime/\(s.index)/segments.npy")
            XCTAssertEqual(seg.shape, [28, 28])
            let csv = String(decoding: try readBytes("\(dir)/lime/\(s.index)/weights.csv"), as: UTF8.self).split(separator: "\n")
            XCTAssertEqual(csv.count, 7)
            XCTAssertTrue(csv[0].hasPrefix("target,r2,intercept,original,segment_0,"))
            let png = try PNGDecoder.decode(try readBytes("\(dir)/lime/\(s.index)/mu_1.png"))
            XCTAssertEqual(png.width, 28 * 3)
        }
        let truthMeasures = try XCTUnwrap(summary.attributionGroundTruth)
        XCTAssertEqual(Set(truthMeasures.keys), ["saliency", "occlusion", "lime"])
        for (_, m) in truthMeasures {
            XCTAssertEqual(m.units.count, summary.activeUnits)
            for u in m.units { XCTAssertTrue((0...1).contains(u.share), "\(u)") }
        }
        let json = String(decoding: try readBytes(dir + "/summary.json"), as: UTF8.self)
        for key in ["\"attribution_ground_truth\"", "\"median_r2_active_means\"", "\"rank_correlation\"", "\"lime\""] {
            XCTAssertTrue(json.contains(key), key)
        }
        let report = String(decoding: try readBytes(dir + "/report.html"), as: UTF8.self)
        XCTAssertTrue(report.contains("Local surrogates (LIME)"))
        XCTAssertTrue(report.contains("Against the known factors"))
        XCTAssertTrue(report.contains("mostly finds where the pixels are dark"))
        XCTAssertTrue(summary.files.contains("lime/2/comparison.png"))
    }

    func testTablesGetOneSegmentAColumn() throws {
        let dir = try temporaryDirectory(self)
        var random = SplitMix64(keys: 3)
        let data = try Dataset(name: "table", sampleShape: [784], floats: (0..<(20 * 784)).map { _ in random.nextUnitFloat() })
        let model = VAEModel(config: ModelConfig(inputDim: 784, encoderHidden: [16], latent: 2), seed: 1)
        var o = ExplainOptions(outDir: dir)
        o.iwaeK = 0
        var lime = LIMESettings()
        lime.perturbations = 800
        lime.explainedSamples = 1
        lime.batchRows = 400
        o.lime = lime
        let summary = try ExplainExport.run(model: model, dataset: data, trainSet: nil, options: o, communicator: nil,
                                            checkpointInfo: [:], log: { _ in })
        XCTAssertEqual(summary.lime?.samples.first?.segments, 784)
        XCTAssertEqual(try NPYReader.read(path: dir + "/lime/0/segments.npy").shape, [784])
    }

    func testReportWithLIMEShowsEveryImageInChromium() throws {
        try requireChromium()
        let dir = try temporaryDirectory(self)
        let summary = try runExport(dir, data: SyntheticData.make(count: 12, factors: 2, seed: 3), truth: nil)
        let (status, text) = try checkReportInChromium(dir + "/report.html")
        XCTAssertEqual(status, 0, text)
        // The per-target heat maps stay files; the report shows one comparison per sample.
        let shown = listFiles(dir).filter { $0.hasSuffix(".png") && !($0.hasPrefix("lime/") && !$0.hasSuffix("comparison.png")) }.count
        XCTAssertEqual(summary.lime?.samples.count, 3)
        XCTAssertTrue(text.contains("images \(shown)/\(shown)"), "\(text), expected \(shown)")
    }
}
