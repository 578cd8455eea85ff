import Basics
import Foundation
import MPI
import VAE

/// The step's gradient allreduce when it is split or compressed (`--grad-bucket-mb`,
/// `--grad-compression`); without either the step keeps its one fused allreduce.
///
/// Buckets are slices of the contiguous gradient arena, cut from its end, because the backward
/// pass finishes gradients from the end (last layer first). Each bucket is started with a
/// non-blocking allreduce as soon as the backward pass reports it final, every report also lets
/// MPI progress the ones in flight, and `finish` waits for all of them before Adam. Every element
/// is summed over the same ranks by the same collective as before, so on two ranks the result is
/// bit for bit the fused one (a + b either way round).
///
/// With compression each bucket is rounded to 16 bits into a send buffer and reduced with a
/// user-defined MPI sum that adds in fp32; fp16 first scales the bucket by a power of two that
/// keeps every partial sum below 2^15 (agreed by a max-allreduce of the ranks' largest magnitude,
/// so every rank uses the same scale). The loss sums (the tail) always travel in fp32.
final class GradientExchange {
    let comm: Communicator
    let count: Int
    let gradients: UnsafeMutablePointer<Float>
    let tail: UnsafeMutableBufferPointer<Float>
    /// Bucket k covers starts[k] ..< ends[k]; bucket 0 ends at the arena's end.
    let starts: [Int]
    let ends: [Int]
    let half: HalfPrecisionSum?
    let packed: UnsafeMutableBufferPointer<UInt16>
    /// fp16: the scale each bucket was sent with, to undo on arrival.
    let scales: UnsafeMutableBufferPointer<Float>
    let pending: PendingReductions
    private var started = 0
    private var failure: Error?
    /// Time spent in this exchange's calls during the step (launches, progress, the final wait).
    private(set) var seconds = 0.0

    init(comm: Communicator, gradients: UnsafeMutablePointer<Float>, count: Int, tail: UnsafeMutableBufferPointer<Float>,
         bucketFloats: Int, compression: HalfPrecisionSum.Format?) throws {
        self.comm = comm
        self.count = count
        self.gradients = gradients
        self.tail = tail
        let size = max(1, min(bucketFloats, count))
        var s: [Int] = [], e: [Int] = []
        var end = count
        while end > 0 {
            e.append(end)
            s.append(max(0, end - size))
            end -= size
        }
        starts = s
        ends = e
        half = try compression.map { try HalfPrecisionSum($0) }
        packed = .allocate(capacity: compression == nil ? 0 : count)
        scales = .allocate(capacity: s.count)
        scales.initialize(repeating: 1)
        pending = PendingReductions(capacity: s.count + 1)
    }

    deinit {
        packed.deallocate()
        scales.deallocate()
    }

    var bucketCount: Int { starts.count }

    /// Before the backward pass.
    func begin() {
        started = 0
        failure = nil
        seconds = 0
    }

    /// From the backward pass: gradients from `offset` to the arena's end are final.
    func ready(_ offset: Int) {
        guard failure == nil else { return }
        let t0 = Clock.now()
        do {
            while started < starts.count, starts[started] >= offset { try launch(started); started += 1 }
            try pending.progress()
        } catch { failure = error }
        seconds += Clock.now() - t0
    }

    /// After the backward pass (and the tail's values are in place): starts what is left, waits
    /// for everything, and leaves the summed gradients and tail in place.
    func finish() throws {
        ready(0)
        let t0 = Clock.now()
        defer { seconds += Clock.now() - t0 }
        if let failure { throw failure }
        try pending.start(tail, op: .sum, on: comm)
        try pending.waitAll()
        guard let half else { return }
        for k in 0..<starts.count {
            let inverse = 1 / scales[k]
            switch half.format {
            case .bf16: BF16Arrays.unpack(packed.baseAddress! + starts[k], into: gradients + starts[k], count: ends[k] - starts[k])
            case .fp16: for i in starts[k]..<ends[k] { gradients[i] = HalfFloat.fromFP16(packed[i]) * inverse }
            }
        }
    }

    private func launch(_ k: Int) throws {
        let lo = starts[k], n = ends[k] - lo
        guard let half else {
            try pending.start(UnsafeMutableBufferPointer(start: gradients + lo, count: n), op: .sum, on: comm)
            return
        }
        switch half.format {
        case .bf16:
            BF16Arrays.pack(gradients + lo, into: packed.baseAddress! + lo, count: n)
        case .fp16:
            var largest: Float = 0
            for i in lo..<ends[k] { largest = Swift.max(largest, abs(gradients[i])) }
            // NaN must win the max so a bad gradient stays non-finite and the step is skipped.
            if largest.isNaN { largest = .infinity }
            largest = try comm.allreduce(largest, op: .max)
            let scale = Self.fp16Scale(largest: largest, ranks: comm.size)
            scales[k] = scale
            for i in lo..<ends[k] { packed[i] = HalfFloat.toFP16(gradients[i] * scale) }
        }
        try pending.start(UnsafeMutableRawPointer(packed.baseAddress! + lo), count: n, datatype: half.datatype, op: half.op, on: comm)
    }

    /// The power of two that puts `ranks` x `largest` at or below 2^15, well inside fp16's range
    /// (65504) whatever order the ranks' values are summed in; 1 for zero or non-finite values.
    static func fp16Scale(largest: Float, ranks: Int) -> Float {
        guard largest.isFinite, largest > 0 else { return 1 }
        let bound = largest * Float(max(1, ranks))
        let exponent = Swift.max(-100, Swift.min(100, 15 - Int(Foundation.ceil(Foundation.log2(bound)))))
        return Float(sign: .plus, exponent: exponent, significand: 1)
    }
}
