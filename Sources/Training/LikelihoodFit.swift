import Datasets
import VAE

/// A Bernoulli likelihood (and binarization) reads each value as the probability of a pixel
/// being on. Outside [0, 1] its cross-entropy has no lower bound, and training runs the -ELBO off
/// to minus infinity instead of failing: refuse such data up front and say what to use instead.
public enum LikelihoodFit {
    public static func check(_ dataset: Dataset, for config: ModelConfig) throws {
        guard config.likelihood == .bernoulli || config.binarize else { return }
        let range = dataset.valueRange
        guard range.lowerBound >= 0, range.upperBound <= 1 else {
            throw ConfigError("--data \(dataset.name): values range from \(range.lowerBound) to \(range.upperBound), but the "
                + "\(config.binarize ? "binarized" : "bernoulli") likelihood needs values in [0, 1]; rescale the data or use --likelihood gaussian")
        }
    }
}
