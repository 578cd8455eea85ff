/// The family of a Gaussian mixture's components p(z|y = k) = N(m_k, Σ_k): the tensors it owns
/// (`prior.means` first, then the covariance's), each component's energy
/// h_k(z) = −log N(z; m_k, Σ_k) − (L/2) log 2π, its gradients, and draws from it. `GaussianMixture`
/// does everything else (responsibilities, the ELBO's terms, the balance term, IWAE), so a new
/// covariance structure is one conformer here and nothing in the block.
protocol MixtureComponents {
    init(latent: Int, clusters: Int)
    var latent: Int { get }
    var clusters: Int { get }
    /// The tensors, `prior.means` `[K, latent]` first, in arena order.
    var declarations: [ParameterDeclaration] { get }
    /// The same family reading its tensors at `parameters` (the first of `declarations`).
    func bound(to parameters: UnsafePointer<Float>) -> Self

    /// h_k(z) in Float, for the training step.
    func energy(_ z: UnsafePointer<Float>, component k: Int) -> Float
    /// With e = dE/da_k for a_k = log p(y = k) − h_k(z): adds −e ∂h_k/∂z to `dz` and −e ∂h_k/∂θ_k
    /// to the gradients of component k's tensors (`gradients` at the first of `declarations`).
    func accumulate(_ z: UnsafePointer<Float>, component k: Int, weight e: Float,
                    dz: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>)

    /// h_k(z) in Double, for evaluation and the export.
    func energyInDouble(_ z: UnsafePointer<Float>, component k: Int) -> Double
    /// ∂h_k/∂z at z, in Double, `[latent]`.
    func energyGradient(_ z: UnsafePointer<Float>, component k: Int, into: UnsafeMutablePointer<Double>)
    /// E h_k(z) under q(z|x) = N(mu, diag exp(logvar)), split over dimensions so that the
    /// `latent` values written sum to it exactly.
    func expectedEnergyPerDimension(mu: UnsafePointer<Float>, logvar: UnsafePointer<Float>, component k: Int,
                                    into: UnsafeMutablePointer<Double>)
    /// Zeroes the gradients of the correlations (`gradients` at the first of `declarations`), so a
    /// warm-up keeps the components axis-aligned.
    func holdCorrelations(gradients: UnsafeMutablePointer<Float>)
    /// z = m_k + (a square root of Σ_k) · noise, a draw from component k.
    func draw(component k: Int, noise: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>)
}
