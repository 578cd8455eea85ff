/// The model config's latent block: one case per posterior family or prior. The layers and the
/// trainer only ever see `any LatentBlock`.
enum LatentBlockFactory {
    static func make(_ c: ModelConfig) throws -> any LatentBlock {
        let variant = c.variant ?? ModelConfig.defaultVariant
        switch variant {
        case ModelConfig.defaultVariant:
            switch c.posterior ?? ModelConfig.defaultPosterior {
            case ModelConfig.defaultPosterior: return DiagonalGaussian(latent: c.latent)
            case "full": return FullCovarianceGaussian(latent: c.latent)
            case let other:
                throw ConfigError("model config: posterior must be \"diagonal\" or \"full\", found \"\(other)\"")
            }
        case ModelConfig.mixtureVariant:
            // The mixture's q(z|x) is the diagonal Gaussian: its responsibilities p(y|z) and the
            // exact sum over components are written for it; a full covariance there is not built.
            if let p = c.posterior, p != ModelConfig.defaultPosterior {
                throw ConfigError("model config: variant \"\(variant)\" takes the diagonal posterior, found posterior \"\(p)\"")
            }
            let clusters = c.clusters ?? ModelConfig.defaultClusters, balance = c.clusterBalance ?? 0
            switch c.priorCovariance ?? "diagonal" {
            case "full":
                return GaussianMixture<FullCovarianceComponents>(latent: c.latent, clusters: clusters, balance: balance)
            default:
                return GaussianMixture<DiagonalComponents>(latent: c.latent, clusters: clusters, balance: balance)
            }
        default:
            throw ConfigError("model config: variant must be \"\(ModelConfig.defaultVariant)\" or \"\(ModelConfig.mixtureVariant)\", found \"\(variant)\"")
        }
    }
}
