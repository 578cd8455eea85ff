/// Branch-free `exp` and `log` that the loop vectorizer can turn into AVX-512 code.
///
/// glibc's `expf`/`log1pf` are opaque calls, so a loop over them runs one element at a time; the
/// likelihood touches ~100k elements per step, where scalar calls would cost more than a GEMM.
/// These use only multiplies, adds, selects and bit casts. Accuracy: a few ulp over the ranges
/// used here (checked against Foundation in LinalgTests).
public enum FastMath {
    /// e^x for x in about [-87, 88]; inputs outside are clamped (tiny or huge but finite results).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.0), 88.0)
        // n = round(x / ln 2) by the 1.5·2^23 trick: after the add the low mantissa bits hold n.
        let shifter: Float = 12_582_912.0
        let t = xc * 1.442_695_04 + shifter
        let n = t - shifter
        // r = x - n·ln2 in two pieces so the reduction is exact to float precision.
        let r = (xc - n * 0.693_145_751_953_125) - n * 1.428_606_765_330_187_045e-6
        // Taylor series to degree 7: |r| <= 0.35, truncation error < 1e-8 relative.
        var p: Float = 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        // 2^n assembled from the exponent field; n is in [-126, 127] after the clamp.
        let ni = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
        let scale = Float(bitPattern: UInt32(bitPattern: (ni &+ 127) << 23))
        return p * scale
    }

    /// Natural log for positive normal x.
    @inlinable @inline(__always)
    public static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) &- 127)
        var m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000)  // [1, 2)
        // Centre the mantissa on 1 so the series below converges fast: m in [0.707, 1.414).
        let big = m > 1.414_213_5
        m = big ? m * 0.5 : m
        e = big ? e + 1 : e
        // log(m) = 2·atanh(s), s = (m-1)/(m+1), |s| <= 0.172.
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var q: Float = 1.0 / 11.0
        q = q * s2 + 1.0 / 9.0
        q = q * s2 + 1.0 / 7.0
        q = q * s2 + 1.0 / 5.0
        q = q * s2 + 1.0 / 3.0
        q = q * s2 + 1.0
        return e * 0.693_147_18 + 2 * s * q
    }

    /// Square root of x >= 0 (finite): an exponent-halving guess for 1/sqrt(x), three Newton
    /// steps, times x. Within 3e-7 relative; sqrt(0) = 0. Swift's `squareRoot()` lowers to a
    /// libm call on Linux, which stops the vectorizer.
    @inlinable @inline(__always)
    public static func sqrt(_ x: Float) -> Float {
        var y = Float(bitPattern: 0x5F37_59DF &- (x.bitPattern >> 1))
        let h = 0.5 * x
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        return x * y
    }

    /// The logistic sigmoid 1 / (1 + e^−l), from e = exp(−|l|), which a caller that also needs
    /// log(1 + e^−|l|) has already computed; the form never overflows. The one sigmoid of the
    /// project: the likelihood's gradient and the decoded images both use it.
    @inlinable @inline(__always)
    public static func sigmoid(_ l: Float, expNegAbs e: Float) -> Float {
        let inv = 1 / (1 + e)
        return l >= 0 ? inv : e * inv
    }

    @inlinable @inline(__always)
    public static func sigmoid(_ l: Float) -> Float { sigmoid(l, expNegAbs: exp(-Swift.abs(l))) }

    /// (sin 2πu, cos 2πu) for u in [0, 1): quarter-turn reduction, then Taylor series on
    /// |x| <= π/4 (degree 9 and 10, error < 1e-9 before rounding).
    @inlinable @inline(__always)
    public static func sinCosTurns(_ u: Float) -> (sin: Float, cos: Float) {
        let q = (4 * u).rounded(.toNearestOrAwayFromZero)
        let x = (u - 0.25 * q) * 6.283_185_3
        let x2 = x * x
        var s: Float = 1.0 / 362_880
        s = s * x2 - 1.0 / 5040
        s = s * x2 + 1.0 / 120
        s = s * x2 - 1.0 / 6
        s = (s * x2 + 1) * x
        var c: Float = -1.0 / 3_628_800
        c = c * x2 + 1.0 / 40320
        c = c * x2 - 1.0 / 720
        c = c * x2 + 1.0 / 24
        c = c * x2 - 0.5
        c = c * x2 + 1
        switch Int(q) & 3 {
        case 0: return (s, c)
        case 1: return (c, -s)
        case 2: return (-s, -c)
        default: return (-c, s)
        }
    }
}
