import Foundation

/// What `mpivae bench` reports: training-step throughput against the sgemm roofline.
public struct StepBenchmarkResult: Codable, Equatable {
    public var batchSize: Int
    public var blasThreads: Int
    public var blasCore: String
    public var parameterCount: Int
    /// Median over repeats of samples per second (one step = noise + forward + backward + Adam).
    public var samplesPerSecond: Double
    public var repeatSamplesPerSecond: [Double]
    /// GEMM FLOP per sample actually issued by the step (counted from every sgemm call).
    public var gemmFlopsPerSample: Double
    /// The design's figure: forward + every input and weight gradient (3 × forward).
    public var designFlopsPerSample: Double
    /// Best-of-several 1024³ sgemm in this process, same thread count.
    public var peakGFLOPS: Double
    /// samplesPerSecond × gemmFlopsPerSample.
    public var stepGemmGFLOPS: Double
    /// stepGemmGFLOPS / peakGFLOPS: 1 would mean the step is all GEMM, at the big-GEMM rate.
    public var rooflineRatio: Double
    /// peak / gemmFlopsPerSample.
    public var rooflineSamplesPerSecond: Double
    /// Share of the step spent inside sgemm (separate instrumented run).
    public var gemmTimeShare: Double
    /// GFLOP/s of the step's sgemm calls alone (their FLOP over their own time).
    public var gemmOnlyGFLOPS: Double
    /// Milliseconds per step by phase (instrumented run; includes the GEMMs of each phase).
    public var phaseMilliseconds: [String: Double]
}

public enum StepBenchmark {
    /// Times training steps of `config` at `batchSize` with `threads` BLAS threads (restored
    /// afterwards). `seconds` is split across `repeats` timed windows after a warm-up.
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
        // Deterministic pseudo-images in [0, 1], refreshed per step by the caller in real training.
        let D = config.inputDim
        for i in 0..<(B * D) { ws.input[i] = Float((i &* 2_654_435_761) % 1000) / 999 }
        let scale = 1 / Float(B)
        var step = 0
        func trainStep() {
            ws.prepareNoise(batch: B, seed: seed, epoch: 0, sampleIndices: (step * B)..<(step * B + B))
            _ = ws.forwardBackward(batch: B, klWeight: config.beta, gradScale: scale)
            if includeOptimizer { adam.update(parameters: model.parameters, gradients: model.gradients) }
            step += 1
        }

        let peak = SgemmPeak.measure(size: 1024)

        // FLOP of one step, counted at the sgemm wrapper.
        Gemm.flopCounter = 0
        Gemm.countFlops = true
        trainStep()
        Gemm.countFlops = false
        let gemmFlops = Double(Gemm.flopCounter) / Double(B)

        for _ in 0..<5 { trainStep() }  // warm caches and OpenBLAS buffers

        var rates: [Double] = []
        let window = max(0.05, seconds / Double(max(1, repeats)))
        for _ in 0..<max(1, repeats) {
            var steps = 0
            let t0 = Clock.now()
            var t = t0
            repeat {
                trainStep()
                steps += 1
                t = Clock.now()
            } while t - t0 < window
            rates.append(Double(steps * B) / (t - t0))
        }
        let sorted = rates.sorted()
        let median = sorted.count % 2 == 1
            ? sorted[sorted.count / 2]
            : 0.5 * (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2])

        // Instrumented run for the time split (timers perturb it slightly, so it is separate).
        ws.resetPhaseTimes()
        ws.timing = true
        Gemm.seconds = 0
        Gemm.timeCalls = true
        var adamTime = 0.0, noiseTime = 0.0
        let t0 = Clock.now()
        let instrumentedSteps = max(10, Int(window * Double(median) / Double(B)))
        for _ in 0..<instrumentedSteps {
            let a = Clock.now()
            ws.prepareNoise(batch: B, seed: seed, epoch: 0, sampleIndices: (step * B)..<(step * B + B))
            let b = Clock.now()
            _ = ws.forwardBackward(batch: B, klWeight: config.beta, gradScale: scale)
            let c = Clock.now()
            if includeOptimizer { adam.update(parameters: model.parameters, gradients: model.gradients) }
            adamTime += Clock.now() - c
            noiseTime += b - a
            step += 1
        }
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
        let stepGemm = median * gemmFlops / 1e9
        return StepBenchmarkResult(
            batchSize: B, blasThreads: threads, blasCore: BLASInfo.coreName,
            parameterCount: model.parameterCount, samplesPerSecond: median, repeatSamplesPerSecond: rates,
            gemmFlopsPerSample: gemmFlops, designFlopsPerSample: Double(model.fullGemmFlopsPerSample),
            peakGFLOPS: peak, stepGemmGFLOPS: stepGemm, rooflineRatio: stepGemm / peak,
            rooflineSamplesPerSecond: peak * 1e9 / gemmFlops,
            gemmTimeShare: Gemm.seconds / wall,
            gemmOnlyGFLOPS: gemmFlops * Double(B) * n / Gemm.seconds / 1e9,
            phaseMilliseconds: phases)
    }
}
