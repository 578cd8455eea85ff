import Datasets
import Foundation
@testable import VAE
import XCTest
@testable import Explain

/// The export's cluster part: per-sample responsibilities and clusters, the per-cluster tables
/// and pictures and the report section, on a model whose latent block gives responsibilities
/// (`TestMixtureBlock`), and none of it for the plain VAE.
final class ClusterTests: XCTestCase {
    static let latent = 4, clusters = 3

    func config(activation: Activation = .relu) -> ModelConfig {
        ModelConfig(inputDim: 784, encoderHidden: [32], latent: Self.latent, activation: activation)
    }

    func mixture(seed: UInt64 = 3, differentiable: Bool = true) -> VAEModel {
        TestMixtureBlock.model(config: config(), clusters: Self.clusters, seed: seed, differentiable: differentiable)
    }

    /// Puts component k's mean at the posterior mean of sample k of `data`, with equal weights:
    /// each of those samples is then most responsible to its own component, so no test depends on
    /// how a random initialization happens to fall.
    func spread(_ model: VAEModel, over data: Dataset) -> VAEModel {
        let d = Self.latent, K = Self.clusters
        let evaluator = Evaluator(model: model)
        var x = [Float](repeating: 0, count: 784), mu = [Float](repeating: 0, count: d), lv = mu
        let means = model.parameter(named: "prior.means")!, logits = model.parameter(named: "prior.logits")!
        for k in 0..<K {
            data.copySample(k, into: &x)
            evaluator.encode(batch: 1, input: x, mu: &mu, logvar: &lv, firstIndex: k)
            for j in 0..<d { means[k * d + j] = mu[j] }
            logits[k] = 0
        }
        return model
    }

    func options(_ dir: String) -> ExplainOptions {
        var o = ExplainOptions(outDir: dir)
        o.iwaeK = 2
        o.batchSize = 7
        o.samples = [0, 5]
        o.seed = 42
        o.topDimensions = 3
        o.gallerySize = 4
        o.priorSamples = 8
        o.neighbours = 2
        o.classNames = ExplainOptions.fashionMNISTClassNames
        return o
    }

    // MARK: The analysis, on arrays given directly

    /// Ties go to the lowest cluster, a non-finite row to none, an empty cluster stays empty, and
    /// the label table has a column per label present (here more labels than clusters).
    func testAssignmentSizesTypicalityAndLabelTable() {
        let r: [Float] = [
            0.7, 0.2, 0.1,   // 0 -> 0
            0.4, 0.4, 0.2,   // 1 -> 0 (tie with 1)
            0.1, 0.8, 0.1,   // 2 -> 1
            0.05, 0.9, 0.05, // 3 -> 1, surer than 2
            .nan, 0.5, 0.5,  // 4 -> none
            0.5, 0.3, 0.2,   // 5 -> 0
        ]
        let labels: [Int32] = [7, 2, 2, 5, 2, 7]
        let a = ClusterAnalysis(responsibilities: r, clusters: 3, labels: labels)
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(a.assignment, [0, 0, 1, 1, -1, 0])
        XCTAssertEqual(a.sizes, [3, 2, 0])
        XCTAssertEqual(a.unassigned, 1)
        XCTAssertEqual(a.emptyClusters, [2])
        XCTAssertEqual(a.members[0], [0, 5, 1])
        XCTAssertEqual(a.members[1], [3, 2])
        XCTAssertEqual(a.mostTypical(0, 2), [0, 5])
        XCTAssertEqual(a.leastTypical(0, 2), [1, 5])
        XCTAssertEqual(a.softSizes[1], 0.2 + 0.4 + 0.8 + 0.9 + 0.3, accuracy: 1e-6)
        XCTAssertEqual(a.labelValues, [2, 5, 7])
        XCTAssertEqual(a.labelTable, [[1, 0, 2], [1, 1, 0], [0, 0, 0]])
        XCTAssertEqual(a.majority(0)?.label, 7)
        XCTAssertEqual(a.majority(0)?.share ?? 0, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(a.majority(1)?.label, 2, "a tie between labels goes to the smaller")
        XCTAssertNil(a.majority(2))
        XCTAssertTrue(ClusterAnalysis(responsibilities: r, clusters: 3, labels: nil).labelTable.isEmpty)
    }

    func testLabelChartShowsRowShares() throws {
        let table = [[3, 1], [0, 0], [0, 5]]
        XCTAssertEqual(ClusterLabelChart.shares(table), [[0.75, 0.25], [0, 0], [0, 1]])
        let img = try ClusterLabelChart.raster(table, cell: 10)
        XCTAssertEqual(img.width, 21)
        XCTAssertEqual(img.height, 31)
        XCTAssertEqual(img.pixel(x: 15, y: 25), Colormap.diverging(1), "a pure cell is full red")
        XCTAssertEqual(img.pixel(x: 5, y: 15), RGB(255, 255, 255), "an empty cluster's row is white")
        let svg = ClusterLabelChart.svg(table, rowNames: ["a", "b", "c"], columnNames: ["<x>", "y"], title: "t").markup
        XCTAssertEqual(svg.components(separatedBy: "class=\"cell\"").count - 1, 6)
        XCTAssertTrue(svg.contains("&lt;x&gt;"))
        XCTAssertFalse(svg.contains("<x>"))
    }

    // MARK: The gradient the saliency uses

    /// d q(y=k|x)/dx through the encoder's backward pass against central differences of
    /// q(y=k|x) itself (Float forward passes: a loose, stated tolerance).
    func testResponsibilitySaliencyMatchesFiniteDifferences() throws {
        let model = TestMixtureBlock.model(config: config(activation: .tanh), clusters: Self.clusters, seed: 11)
        let evaluator = Evaluator(model: model)
        let data = SyntheticData.make(count: 2, factors: 2, seed: 4)
        var x = [Float](repeating: 0, count: 784)
        data.copySample(1, into: &x)
        let K = Self.clusters
        func q(_ input: [Float]) -> [Double] {
            var out = [Float](repeating: 0, count: K)
            evaluator.posteriorExtra(0, batch: 1, input: input, into: &out, firstIndex: 1)
            return out.map(Double.init)
        }
        let base = q(x)
        XCTAssertEqual(base.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertLessThan(base.max()!, 0.999, "responsibilities saturated: the check would compare zeros")
        let pixels = [100, 300, 406, 520, 700]
        for k in 0..<K {
            var g = [Float](repeating: 0, count: 784)
            XCTAssertTrue(evaluator.posteriorExtraGradient(0, component: k, batch: 1, input: x, into: &g, firstIndex: 1))
            let scale = g.map { abs($0) }.max()!
            XCTAssertGreaterThan(scale, 0)
            for p in pixels {
                let h: Float = 1e-2
                var up = x, down = x
                up[p] += h; down[p] -= h
                let fd = (q(up)[k] - q(down)[k]) / Double(2 * h)
                XCTAssertEqual(Double(g[p]), fd, accuracy: 2e-3 * Double(scale) + 1e-5, "d q(y=\(k)|x) / dx[\(p)]")
            }
        }
        // A block that does not differentiate its extra says so instead of writing zeros.
        let plain = Evaluator(model: mixture(differentiable: false))
        var g = [Float](repeating: 7, count: 784)
        XCTAssertFalse(plain.posteriorExtraGradient(0, component: 0, batch: 1, input: x, into: &g))
        XCTAssertEqual(g[0], 7)
    }

    // MARK: The whole export

    func testExportWritesResponsibilitiesClustersAndReportSection() throws {
        let dir = try temporaryDirectory(self)
        let n = 23, K = Self.clusters
        let data = SyntheticData.make(count: n, factors: 2, seed: 5)
        let model = spread(mixture(), over: data)
        let summary = try ExplainExport.run(model: model, dataset: data, trainSet: nil, options: options(dir), communicator: nil,
                                            checkpointInfo: [:], log: { _ in })

        // responsibilities.npy: every sample's q(y|x), as the evaluator gives it alone.
        let r = try npyFloats(dir + "/responsibilities.npy")
        XCTAssertEqual(r.shape, [n, K])
        let evaluator = Evaluator(model: model)
        var x = [Float](repeating: 0, count: 784), q = [Float](repeating: 0, count: K)
        for i in [0, 6, 7, 22] {
            data.copySample(i, into: &x)
            evaluator.posteriorExtra(0, batch: 1, input: x, into: &q, firstIndex: i)
            for k in 0..<K { XCTAssertEqual(r.values[i * K + k].bitPattern, q[k].bitPattern, "responsibilities[\(i), \(k)]") }
        }
        for i in 0..<n { XCTAssertEqual(r.values[(i * K)..<((i + 1) * K)].reduce(0, +), 1, accuracy: 1e-5) }

        // The summary's clusters against a recount from the arrays.
        let c = try XCTUnwrap(summary.clusters)
        let argmax = (0..<n).map { i in (0..<K).max { (r.values[i * K + $0], -$0) < (r.values[i * K + $1], -$1) }! }
        XCTAssertEqual(c.count, K)
        XCTAssertEqual(c.sizes, (0..<K).map { k in argmax.filter { $0 == k }.count })
        XCTAssertEqual(c.sizes.reduce(0, +), n)
        XCTAssertEqual(Array(argmax.prefix(K)), Array(0..<K), "sample k sits at component k's mean")
        let labels = try XCTUnwrap(data.labels)
        let values = Array(Set(labels.map(Int.init))).sorted()
        XCTAssertEqual(c.labelValues, values)
        let table = (0..<K).map { k in values.map { v in (0..<n).filter { argmax[$0] == k && Int(labels[$0]) == v }.count } }
        XCTAssertEqual(c.labelTable, table)
        let agreement = ClusterAgreement(clusters: argmax, labels: labels.map(Int.init), clusterCount: K,
                                         labelCount: Int(labels.max()!) + 1)
        XCTAssertEqual(try XCTUnwrap(c.accuracy), agreement.accuracy, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(c.nmi), agreement.nmi, accuracy: 1e-12)
        XCTAssertEqual(c.prototypeSource, "prior.means")
        XCTAssertEqual(c.samplesPerCluster, ClusterExport.samplesPerCluster)
        for k in c.perCluster {
            let members = (0..<n).filter { argmax[$0] == k.cluster }
            let byR = members.sorted { (r.values[$0 * K + k.cluster], -$0) > (r.values[$1 * K + k.cluster], -$1) }
            XCTAssertEqual(k.mostTypical, Array(byR.prefix(4)))
            XCTAssertEqual(k.leastTypical, Array(byR.suffix(4).reversed()))
            XCTAssertNotNil(k.priorWeight)
        }
        XCTAssertEqual(c.perCluster.compactMap(\.priorWeight), [Double](repeating: 1 / Double(K), count: K))
        XCTAssertTrue(c.saliency.hasPrefix("d q(y=k|x)"), c.saliency)

        // Per sample: its cluster and responsibility.
        for s in summary.samples {
            XCTAssertEqual(s.cluster, argmax[s.index])
            XCTAssertEqual(try XCTUnwrap(s.responsibility), Double(r.values[s.index * K + argmax[s.index]]))
            XCTAssertEqual(s.responsibilities?.count, K)
        }

        // The tables and pictures, each of the size its grid implies.
        let files = Set(listFiles(dir))
        for f in ["responsibilities.npy", "clusters.csv", "cluster_labels.csv", "cluster_labels.png", "cluster_labels.svg",
                  "cluster_prototypes.png", "cluster_samples.png", "cluster_typical.png", "cluster_atypical.png",
                  "cluster_saliency.png"] {
            XCTAssertTrue(files.contains(f), f)
            XCTAssertTrue(summary.files.contains(f), f)
        }
        XCTAssertEqual(Set(c.files), Set(summary.files.filter { $0.hasPrefix("cluster") }))
        let csv = String(decoding: try readBytes(dir + "/cluster_labels.csv"), as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv[0], (["cluster", "size"] + values.map { "label_\($0)" }).joined(separator: ","))
        XCTAssertEqual(csv.count, 1 + K)
        for k in 0..<K { XCTAssertEqual(csv[1 + k], (["\(k)", "\(c.sizes[k])"] + table[k].map(String.init)).joined(separator: ",")) }
        let tile = 28 * options(dir).upscale
        let samples = try PNGDecoder.decode(try readBytes(dir + "/cluster_samples.png"))
        XCTAssertEqual(samples.width, 2 + ClusterExport.samplesPerCluster * (tile + 2))
        XCTAssertEqual(samples.height, 2 + K * (tile + 2))
        let prototypes = try PNGDecoder.decode(try readBytes(dir + "/cluster_prototypes.png"))
        XCTAssertEqual(prototypes.width, 2 + K * (tile + 2))
        let saliency = try PNGDecoder.decode(try readBytes(dir + "/cluster_saliency.png"))
        XCTAssertEqual(saliency.width, 2 + 2 * ClusterExport.saliencyMembers * (tile + 2))

        // The prototypes are the decoded component means, not anything else.
        let means = Array(try XCTUnwrap(model.parameter(named: "prior.means")))
        var image = [Float](repeating: 0, count: 784)
        evaluator.decode(batch: 1, z: Array(means[0..<Self.latent]), output: &image)
        let up = options(dir).upscale
        for (py, px) in [(3, 3), (14, 14), (20, 9)] {
            let o = ((2 + py * up) * prototypes.width + 2 + px * up) * prototypes.channels
            XCTAssertEqual(prototypes.pixels[o], unitToByte(image[py * 28 + px]), "prototype 0 pixel \(px),\(py)")
        }

        // summary.json and the report.
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try readBytes(dir + "/summary.json"))) as? [String: Any])
        let clusters = try XCTUnwrap(json["clusters"] as? [String: Any])
        XCTAssertEqual(clusters["sizes"] as? [Int], c.sizes)
        XCTAssertEqual((clusters["label_table"] as? [[Int]]), table)
        XCTAssertEqual((json["samples"] as? [[String: Any]])?.first?["cluster"] as? Int, argmax[0])
        XCTAssertEqual(try ExplainSummary.decode(transport: try summary.transport()), summary)
        let html = String(decoding: try readBytes(dir + "/report.html"), as: UTF8.self)
        XCTAssertTrue(html.contains(">\(ClusterReportSection.heading)</h2>"))
        for caption in ["cluster_prototypes.png", "cluster_samples.png", "cluster_typical.png", "cluster_atypical.png",
                        "cluster_saliency.png", "cluster_labels.png"] {
            XCTAssertTrue(html.contains("(\(caption))"), caption)
        }
        XCTAssertEqual(html.components(separatedBy: "class=\"cell\"").count - 1, K * values.count)
        XCTAssertTrue(html.contains("<dt>cluster</dt><dd>\(argmax[0]) (q(y=\(argmax[0])|x) = "), "sample 0 names its cluster")
    }

    /// The GMVAE itself (`variant: gmvae`): its responsibilities become clusters the same way,
    /// whatever the conformer.
    func testGaussianMixtureModelGetsItsClusterSection() throws {
        let dir = try temporaryDirectory(self)
        var cfg = config()
        cfg.variant = ModelConfig.mixtureVariant
        cfg.clusters = Self.clusters
        let data = SyntheticData.make(count: 12, factors: 2, seed: 6)
        let model = try VAEModel(validating: cfg, seed: 5)
        XCTAssertEqual(model.posteriorExtras, [PosteriorExtra(name: "responsibilities", width: Self.clusters)])
        // Distinct component means (the block starts them identical until the trainer fits them).
        let means = try XCTUnwrap(model.parameter(named: "prior.means"))
        for i in means.indices { means[i] = Float(i % 5) * 0.2 - 0.4 }
        var o = options(dir)
        o.samples = [1]
        let summary = try ExplainExport.run(model: model, dataset: data, trainSet: nil, options: o, communicator: nil,
                                            checkpointInfo: [:], log: { _ in })
        let c = try XCTUnwrap(summary.clusters)
        XCTAssertEqual(c.sizes.reduce(0, +), 12)
        XCTAssertEqual(c.prototypeSource, "prior.means")
        XCTAssertEqual(c.sampleSource, "prior.means, prior.logvars")
        XCTAssertEqual(try npyFloats(dir + "/responsibilities.npy").shape, [12, Self.clusters])
        XCTAssertNotNil(summary.samples.first?.cluster)
        let html = String(decoding: try readBytes(dir + "/report.html"), as: UTF8.self)
        XCTAssertTrue(html.contains(">Clusters</h2>"))
        XCTAssertTrue(html.contains("<dt>p(y)</dt><dd>uniform, 1/\(Self.clusters) each</dd>"), "the GMVAE's p(y) is uniform")
        XCTAssertTrue(c.perCluster.allSatisfy { $0.priorWeight == nil })
    }

    /// Without a differentiable responsibility the export still writes everything else, and the
    /// report says why the saliency is missing.
    func testNonDifferentiableResponsibilitiesSkipOnlyTheSaliency() throws {
        let dir = try temporaryDirectory(self)
        var o = options(dir)
        o.samples = []
        let summary = try ExplainExport.run(model: mixture(differentiable: false), dataset: SyntheticData.make(count: 9, factors: 2, seed: 2),
                                            trainSet: nil, options: o, communicator: nil, checkpointInfo: [:], log: { _ in })
        let files = Set(listFiles(dir))
        XCTAssertFalse(files.contains("cluster_saliency.png"))
        XCTAssertTrue(files.contains("cluster_typical.png"))
        XCTAssertEqual(summary.clusters?.saliency, "none: the model's latent block does not differentiate its responsibilities")
        let html = String(decoding: try readBytes(dir + "/report.html"), as: UTF8.self)
        XCTAssertTrue(html.contains("does not differentiate its responsibilities"))
    }

    /// The plain VAE declares no extras: no extra arrays, no "clusters" in summary.json, no section.
    func testVAEExportHasNoClusters() throws {
        let dir = try temporaryDirectory(self)
        let model = VAEModel(config: config(), seed: 3)
        XCTAssertTrue(model.posteriorExtras.isEmpty)
        let summary = try ExplainExport.run(model: model, dataset: SyntheticData.make(count: 9, factors: 2, seed: 2), trainSet: nil,
                                            options: options(dir), communicator: nil, checkpointInfo: [:], log: { _ in })
        XCTAssertNil(summary.clusters)
        XCTAssertTrue(summary.samples.allSatisfy { $0.cluster == nil && $0.responsibilities == nil })
        XCTAssertFalse(listFiles(dir).contains { $0.hasPrefix("cluster") || $0 == "responsibilities.npy" })
        let json = String(decoding: try readBytes(dir + "/summary.json"), as: UTF8.self)
        XCTAssertFalse(json.contains("\"clusters\""))
        XCTAssertFalse(json.contains("\"responsibilit"))
        let html = String(decoding: try readBytes(dir + "/report.html"), as: UTF8.self)
        XCTAssertFalse(html.contains(">\(ClusterReportSection.heading)</h2>"))
    }

    /// The cluster section in headless Chromium: every picture decodes, and the label heat map's
    /// cells are drawn with an extent, not only present in the markup.
    func testClusterSectionRendersInChromium() throws {
        try requireChromium()
        let dir = try temporaryDirectory(self)
        var o = options(dir)
        o.samples = [2]
        let data = SyntheticData.make(count: 20, factors: 2, seed: 8)
        let summary = try ExplainExport.run(model: spread(mixture(), over: data), dataset: data, trainSet: nil, options: o,
                                            communicator: nil, checkpointInfo: [:], log: { _ in })
        let (status, text) = try checkReportInChromium(dir + "/report.html")
        let pngCount = listFiles(dir).filter { $0.hasSuffix(".png") }.count
        XCTAssertGreaterThanOrEqual(listFiles(dir).filter { $0.hasPrefix("cluster_") && $0.hasSuffix(".png") }.count, 6)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("images \(pngCount)/\(pngCount)"), text)
        let cells = Self.clusters * Set(data.labels ?? []).count
        XCTAssertTrue(text.contains(" cells \(cells)"), "the label table's \(cells) cells should be drawn: \(text)")
        XCTAssertTrue(text.contains("|\(ClusterReportSection.heading)|"), "the cluster section should be in the rendered page: \(text)")
        XCTAssertNotNil(summary.clusters)
    }
}
