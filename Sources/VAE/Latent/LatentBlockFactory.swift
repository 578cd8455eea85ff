/// The model config's latent block: one case per posterior family or prior. The layers and the
/// trainer only ever see `any LatentBlock`.
enum LatentBlockFactory {
    static func make(_ c: ModelConfig) throws -> any LatentBlock {
        let variant = c.variant ?? ModelConfig.defaultVariant
        switch variant {
        case ModelConfig.defaultVariant:
            return DiagonalGaussian(latent: c.latent)
        default:
            throw ConfigError("model config: variant must be \"\(ModelConfig.defaultVariant)\", found \"\(variant)\"")
        }
    }
}
