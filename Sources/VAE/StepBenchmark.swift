import Foundation

/// What `mpivae bench` reports: training-step throughput against the sgemm roofline.
public struct StepBenchmarkResult: Codable, Equatable {
    public var batchSize: Int
    public var blasThreads: Int
    /// OpenBLAS kernel family in use (set at library load; see `BLASInfo.coreName`).
    public var blasCore: String
    public var parameterCount: Int
    /// Median over timed windows of samples per second; one step = noise for the batch +
    /// forward + backward + Adam (the data copy into the input matrix is the trainer's).
    public var samplesPerSecond: Double
    public var repeatSamplesPerSecond: [Double]
    /// GEMM FLOP per sample actually issued by the step (counted at every sgemm call).
    public var gemmFlopsPerSample: Double
    /// The design's figure: forward + every input and weight gradient (3 × forward), 6.54 M
    /// for the benchmark model; the step skips the first layer's input gradient.
    public var designFlopsPerSample: Double
    /// Best 1024³ sgemm rate measured in this process, same thread count.
    public var peakGFLOPS: Double
    /// The peak measured right before each timed window.
    public var repeatPeakGFLOPS: [Double]
    /// samplesPerSecond × gemmFlopsPerSample.
    public var stepGemmGFLOPS: Double
    /// Median over windows of (window's step GEMM rate / peak measured just before it).
    /// 1 would mean the step is all GEMM, running at the big-GEMM rate.
    public var rooflineRatio: Double
    /// stepGemmGFLOPS / peakGFLOPS (against the best peak of the run; conservative when
    /// neighbours load the machine).
    public var rooflineRatioVsBestPeak: Double
    /// peakGFLOPS / gemmFlopsPerSample.
    public var rooflineSamplesPerSecond: Double
    /// samplesPerSecond × designFlopsPerSample / peakGFLOPS.
    public var designRooflineRatio: Double
    /// Share of the step's wall time spent inside sgemm (separate instrumented run).
    public var gemmTimeShare: Double
    /// GFLOP/s of the step's sgemm calls alone (their FLOP over their own time).
    public var gemmOnlyGFLOPS: Double
    /// The step's sgemm calls alone, back to back on the same buffers (`replayProducts`): GFLOP/s
    /// and its ratio to the peak measured just before (median over windows). No step with these
    /// shapes can beat this ratio with this BLAS, whatever the rest of the step costs.
    public var productsOnlyGFLOPS: Double
    public var productsOnlyRatio: Double
    /// Adam alone, back to back with its arrays hot in cache: the floor of the optimizer's cost.
    public var adamAloneMilliseconds: Double
    /// The design-FLOP ratio a step would reach if it were its products (at `productsOnlyRatio`)
    /// plus Adam at `adamAloneMilliseconds`, every other kernel free: the ceiling of
    /// `designRooflineRatio` on this machine.
    public var designRatioCeiling: Double
    /// Milliseconds per step by phase (instrumented run; phases include their GEMMs, "gemm" is
    /// the sum of all sgemm time, "total" the whole step).
    public var phaseMilliseconds: [String: Double]
}

public enum StepBenchmark {
    /// Times training steps of `config` at `batchSize` with `threads` BLAS threads (restored
    /// afterwards). `seconds` is split across `repeats` timed windows after a warm-up; each window
    /// is preceded by its own sgemm peak measurement.
    public static func run(
        batchSize: Int = 128, seconds: Double = 4, repeats: Int = 5, config: ModelConfig = .benchmark,
        threads: Int = 1, includeOptimizer: Bool = true, seed: UInt64 = 0
    ) -> StepBenchmarkResult {
        let previousThreads = BLASInfo.threads
        BLASInfo.setThreads(threads)
        defer { BLASInfo.setThreads(previousThreads) }

        let B = max(1, batchSize)
        let model = VAEModel(config: config, seed: seed)
        let ws = TrainingWorkspace(model: model, maxBatch: B)
        let adam = Adam(count: model.parameterCount, lr: 1e-3)
        // Deterministic pseudo-images in [0, 1].
        let D = config.inputDim
        for i in 0..<(B * D) { ws.input[i] = Float((i &* 2_654_435_761) % 1000) / 999 }
        let scale = 1 / Float(B)
        var step = 0
        var noiseTime = 0.0, adamTime = 0.0
        func trainStep(timed: Bool = false) {
            let a = timed ? Clock.now() : 0
            ws.prepareNoise(batch: B, seed: seed, epoch: 0, sampleIndices: (step * B)..<(step * B + B))
            let b = timed ? Clock.now() : 0
            _ = ws.forwardBackward(batch: B, klWeight: config.beta, gradScale: scale)
            let c = timed ? Clock.now() : 0
            if includeOptimizer { adam.update(parameters: model.parameters, gradients: model.gradients) }
            if timed { noiseTime += b - a; adamTime += Clock.now() - c }
            step += 1
        }

        // FLOP of one step, counted at the sgemm wrapper.
        Gemm.flopCounter = 0
        Gemm.countFlops = true
        trainStep()
        Gemm.countFlops = false
        let gemmFlops = Double(Gemm.flopCounter) / Double(B)

        for _ in 0..<5 { trainStep() }  // warm caches and OpenBLAS buffers

        let window = max(0.05, seconds / Double(max(1, repeats)))
        let stepWindows = pairedWindows(repeats: repeats, seconds: window) { trainStep() }
        let rates = stepWindows.map { Double($0.calls * B) / $0.seconds }
        let peaks = stepWindows.map(\.peak)
        let ratios = zip(rates, peaks).map { $0 * gemmFlops / 1e9 / $1 }
        let median = Self.median(rates)
        let peak = peaks.max() ?? 0

        // Instrumented run for the time split (timers perturb it slightly, so it is separate).
        ws.resetPhaseTimes()
        ws.timing = true
        Gemm.seconds = 0
        Gemm.timeCalls = true
        let instrumentedSteps = max(10, Int(window * median / Double(B)))
        let t0 = Clock.now()
        for _ in 0..<instrumentedSteps { trainStep(timed: true) }
        let wall = Clock.now() - t0
        Gemm.timeCalls = false
        ws.timing = false
        let p = ws.phaseTimes
        let n = Double(instrumentedSteps)
        let ms = { (s: Double) in 1000 * s / n }
        let phases: [String: Double] = [
            "noise": ms(noiseTime), "encoderForward": ms(p.encoderForward), "decoderForward": ms(p.decoderForward),
            "likelihood": ms(p.likelihood), "decoderBackward": ms(p.decoderBackward),
            "encoderBackward": ms(p.encoderBackward), "reparameterization": ms(p.elementwise),
            "adam": ms(adamTime), "gemm": ms(Gemm.seconds), "total": ms(wall),
        ]
        // The ceiling: products alone (each window paired with its own peak), and Adam alone.
        let productWindows = pairedWindows(repeats: repeats, seconds: window / 2) { ws.replayProducts(batch: B) }
        let productRates = productWindows.map { gemmFlops * Double($0.calls * B) / $0.seconds / 1e9 }
        let productRatios = zip(productRates, productWindows).map { $0 / $1.peak }
        var adamTimes: [Double] = []
        for _ in 0..<max(5, repeats) {
            let a0 = Clock.now()
            for _ in 0..<5 { adam.update(parameters: model.parameters, gradients: model.gradients, gradScale: scale) }
            adamTimes.append((Clock.now() - a0) / 5)
        }
        let productsRatio = Self.median(productRatios)
        let adamFloor = Self.median(adamTimes)

        let stepGemm = median * gemmFlops / 1e9
        let design = Double(model.fullGemmFlopsPerSample)
        return StepBenchmarkResult(
            batchSize: B, blasThreads: threads, blasCore: BLASInfo.coreName,
            parameterCount: model.parameterCount, samplesPerSecond: median, repeatSamplesPerSecond: rates,
            gemmFlopsPerSample: gemmFlops, designFlopsPerSample: design,
            peakGFLOPS: peak, repeatPeakGFLOPS: peaks, stepGemmGFLOPS: stepGemm,
            rooflineRatio: Self.median(ratios), rooflineRatioVsBestPeak: stepGemm / peak,
            rooflineSamplesPerSecond: peak * 1e9 / gemmFlops,
            designRooflineRatio: median * design / 1e9 / peak,
            gemmTimeShare: Gemm.seconds / wall,
            gemmOnlyGFLOPS: gemmFlops * Double(B) * n / Gemm.seconds / 1e9,
            productsOnlyGFLOPS: Self.median(productRates), productsOnlyRatio: productsRatio,
            adamAloneMilliseconds: adamFloor * 1000,
            designRatioCeiling: Self.ceiling(designFlopsPerStep: design * Double(B), gemmFlopsPerStep: gemmFlops * Double(B),
                                             productsRatio: productsRatio, peakGFLOPS: peak, adamSeconds: adamFloor),
            phaseMilliseconds: phases)
    }

    /// `repeats` windows of at least `seconds` each, calling `body` back to back, each preceded by
    /// its own sgemm peak measurement: pairing them keeps a ratio meaningful when a neighbour
    /// steals the core for a while, since both numbers shift together.
    static func pairedWindows(repeats: Int, seconds: Double, _ body: () -> Void) -> [(calls: Int, seconds: Double, peak: Double)] {
        (0..<max(1, repeats)).map { _ in
            let peak = SgemmPeak.measure(size: 1024, repeats: 3)
            var calls = 0
            let t0 = Clock.now()
            var t = t0
            repeat {
                body()
                calls += 1
                t = Clock.now()
            } while t - t0 < seconds
            return (calls, t - t0, peak)
        }
    }

    /// Design FLOP over (the products' time at `productsRatio` of the peak + Adam), per peak.
    static func ceiling(designFlopsPerStep: Double, gemmFlopsPerStep: Double, productsRatio: Double,
                        peakGFLOPS: Double, adamSeconds: Double) -> Double {
        guard productsRatio > 0, peakGFLOPS > 0 else { return 0 }
        let productSeconds = gemmFlopsPerStep / (productsRatio * peakGFLOPS * 1e9)
        return designFlopsPerStep / (productSeconds + adamSeconds) / (peakGFLOPS * 1e9)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }
}
