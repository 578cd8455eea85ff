/// KL(N(mu, σ²) ‖ N(0, 1)) of one dimension, ½ (mu² + σ² − 1 − log σ²): the one place the
/// formula is written. Callers pass σ² = exp(logvar) in whatever form they already hold it (the
/// step squares the σ it drew z with); the halving is exact, so summing halves gives the same
/// bits as halving the sum.
public enum GaussianKL {
    @inlinable @inline(__always)
    public static func dimension(mu: Float, logvar: Float, variance: Float) -> Float {
        0.5 * (mu * mu + variance - 1 - logvar)
    }

    @inlinable @inline(__always)
    public static func dimension(mu: Double, logvar: Double, variance: Double) -> Double {
        0.5 * (mu * mu + variance - 1 - logvar)
    }
}
