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
        default:
            throw ConfigError("model config: variant must be \"\(ModelConfig.defaultVariant)\", found \"\(variant)\"")
        }
    }
}
