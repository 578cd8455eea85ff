/// Reductions and simple vector ops over flat buffers.
///
/// Float sums are not auto-vectorized (the compiler may not reassociate), so the reductions keep
/// sixteen lanes explicitly with SIMD16 and fold them at the end.
public enum Reductions {
    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnalignedSIMD.load16(p) }

    public static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n { acc += load16(x + i); i += 16 }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    public static func sumOfSquares(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n { let v = load16(x + i); acc += v * v; i += 16 }
        var s = acc.sum()
        while i < n { s += x[i] * x[i]; i += 1 }
        return s
    }

    /// Sum of squares accumulated in Double per 4096-element block, for global norms over ~1M
    /// values where a single float accumulator would lose digits.
    public static func sumOfSquaresPrecise(_ x: UnsafePointer<Float>, count n: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < n {
            let len = Swift.min(4096, n - start)
            total += Double(sumOfSquares(x + start, count: len))
            start += len
        }
        return total
    }

    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n { acc += load16(x + i) * load16(y + i); i += 16 }
        var s = acc.sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// out[j] = sum_i m[i, j] (overwritten).
    public static func columnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<cols { out[j] = 0 }
        for i in 0..<rows {
            let row = m + i * cols
            for j in 0..<cols { out[j] += row[j] }
        }
    }

    public static func scale(_ x: UnsafeMutablePointer<Float>, count n: Int, by s: Float) {
        for i in 0..<n { x[i] *= s }
    }

    /// Largest element (logsumexp pivots); -inf for an empty range.
    public static func max(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, x[i]) }
        return m
    }

    /// True when every element is finite (non-finite gradient detection).
    public static func allFinite(_ x: UnsafePointer<Float>, count n: Int) -> Bool {
        // x - x is 0 for finite values and NaN for inf/NaN; summing keeps it branch-free.
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n { let v = load16(x + i); acc += v - v; i += 16 }
        var s = acc.sum()
        while i < n { s += x[i] - x[i]; i += 1 }
        return s == 0
    }
}
