import VAE

/// Every training setting, declared once: flag, config key, help line, parsing and the values a
/// run can use. `TrainConfig` holds the values (its property names are the keys, which a test
/// checks against this list); `train --help`, the flag parser, `--config` files and
/// `TrainConfig.validate` all read from here. A new setting is a property and an entry here.
public enum TrainSettings {
    private static let d = TrainConfig()

    public static let all: [TrainSetting] = [
        .text("data", \.data, placeholder: "source", expects: "a data source",
              help: "fashion-mnist, mnist, a directory of IDX files, a .npy or .csv file, or synthetic[:k=3,n=10000,seed=1] (default \(d.data))."),
        .text("out", \.out, placeholder: "dir", expects: "a directory path",
              help: "Run directory for config, metrics, checkpoints and explanations (default \(d.out)).", accepts: { !$0.isEmpty }),
        .number("epochs", \.epochs, expects: "a whole number of at least 1", help: "Epochs to train (default \(d.epochs)).",
                accepts: { $0 >= 1 }),
        .number("batch-size", \.batchSize, expects: "a whole number from 1 to \(TrainConfig.maximumBatchSize)",
                help: "Global batch size, split across ranks (default \(d.batchSize)).",
                accepts: { $0 >= 1 && $0 <= TrainConfig.maximumBatchSize }),
        .number("lr", \.lr, placeholder: "x", expects: "a positive number", help: "Adam's learning rate (default \(d.lr)).",
                accepts: { $0.isFinite && $0 > 0 }),
        .number("latent", \.latent, expects: "a whole number of at least 1", help: "Latent dimensions (default \(d.latent)).",
                accepts: { $0 >= 1 }),
        .widths("hidden", \.hidden, help: "Encoder hidden widths (default \(d.hidden.map(String.init).joined(separator: ",")))."),
        .optionalWidths("decoder-hidden", \.decoderHidden, help: "Decoder hidden widths (default: the encoder's, reversed)."),
        .choice("architecture", \.architecture, ArchitecturePreset.names,
                help: "mlp (dense layers of --hidden), conv (a small DCGAN-style pair) or alexnet (five convolutions with max pooling) (default \(d.architecture))."),
        TrainSetting.spec("encoder", \.encoder,
                          help: "Encoder entries replacing the architecture's, e.g. conv:32k4s2,conv:64k4s2,dense:256 (dense:<width>, conv:<channels>k<kernel>s<stride>[p<padding>], pool:k<kernel>s<stride>[p<padding>])."),
        TrainSetting.spec("decoder", \.decoder,
                          help: "Decoder entries from z to the output, e.g. dense:256,convT:64k4s2,convT:32k4s2 (convT:<channels>k<kernel>s<stride>[p<padding>][o<output padding>]: a <channels>-channel image a transposed convolution enlarges)."),
        .choice("activation", \.activation, TrainConfig.supportedActivations, help: "Hidden layers' activation (default \(d.activation))."),
        .choice("likelihood", \.likelihood, TrainConfig.supportedLikelihoods,
                help: "bernoulli (data in [0, 1]), gaussian or gaussian-learned (default \(d.likelihood))."),
        .number("gaussian-variance", \.gaussianVariance, placeholder: "x", expects: "a positive number",
                help: "Variance of the fixed-variance Gaussian likelihood (default \(d.gaussianVariance)).", accepts: { $0.isFinite && $0 > 0 }),
        .number("beta", \.beta, placeholder: "x", expects: "a number >= 0", help: "Weight of the KL term (default \(d.beta)).",
                accepts: { $0.isFinite && $0 >= 0 }),
        .number("warmup-epochs", \.warmupEpochs, placeholder: "x", expects: "a number >= 0",
                help: "Epochs of linear KL warm-up from 0 to beta (default \(d.warmupEpochs): none).", accepts: { $0.isFinite && $0 >= 0 }),
        .toggle("binarize", \.binarize, help: "Dynamic binarization of the inputs (default off)."),
        .number("weight-decay", \.weightDecay, placeholder: "x", expects: "a number >= 0",
                help: "Decoupled (AdamW) weight decay (default \(d.weightDecay)).", accepts: { $0.isFinite && $0 >= 0 }),
        .number("clip-norm", \.clipNorm, placeholder: "x", expects: "a number >= 0",
                help: "Clip gradients to this global norm (default \(d.clipNorm): off).", accepts: { $0.isFinite && $0 >= 0 }),
        .number("seed", \.seed, expects: "a whole number from 0 to \(UInt64.max)", help: "Seed of every random draw (default \(d.seed))."),
        .choice("model", \.model, TrainConfig.supportedModels, help: "Model variant (default \(d.model))."),
        .number("clusters", \.clusters, expects: "a whole number from 1 to 4096",
                help: "gmvae: mixture components (default \(d.clusters)).", accepts: { (1...4096).contains($0) }),
        .number("cluster-init-epoch", \.clusterInitEpoch, expects: "a whole number >= 0",
                help: "gmvae: the epoch at whose start the mixture is fitted to the encoder's means; a VAE until then (default \(d.clusterInitEpoch)).",
                accepts: { $0 >= 0 }),
        .number("cluster-balance", \.clusterBalance, placeholder: "x", expects: "a number >= 0",
                help: "gmvae: weight of KL(batch mean of q(y|x) || uniform) against collapsed and empty clusters (default \(d.clusterBalance)).",
                accepts: { $0.isFinite && $0 >= 0 }),
        .optionalNumber("pretrain-beta", \.pretrainBeta, placeholder: "x", expects: "a number >= 0",
                        help: "gmvae: the KL weight before --cluster-init-epoch, the VAE phase whose means the mixture is fitted to (default: --beta).",
                        accepts: { $0.isFinite && $0 >= 0 }),
        .optionalNumber("mixture-lr", key: "mixtureLR", \.mixtureLR, placeholder: "x", expects: "a positive number",
                        help: "gmvae: Adam's learning rate from --cluster-init-epoch on, the mixture phase (default: --lr).",
                        accepts: { $0.isFinite && $0 > 0 }),
        .choice("prior-covariance", \.priorCovariance, ModelConfig.priorCovariances,
                help: "gmvae: the covariance of the mixture's components p(z|y): diagonal, or full (a precision Cholesky factor per component) (default \(d.priorCovariance))."),
        .choice("posterior", \.posterior, ModelConfig.posteriors,
                help: "The Gaussian posterior's covariance: diagonal, or full (a Cholesky factor per sample, correlated latent dimensions) (default \(d.posterior))."),
        .number("correlation-hold-epochs", \.correlationHoldEpochs, expects: "a whole number >= 0",
                help: "--posterior full: epochs through which the correlations stay at zero (the diagonal model's steps) before they train (default \(d.correlationHoldEpochs)).",
                accepts: { $0 >= 0 }),
        .number("checkpoint-every", \.checkpointEvery, expects: "a whole number >= 0",
                help: "Also checkpoint every N steps (default \(d.checkpointEvery): at epoch ends only).", accepts: { $0 >= 0 }),
        .number("keep-checkpoints", \.keepCheckpoints, expects: "a whole number of at least 1",
                help: "Checkpoints kept; older ones are deleted (default \(d.keepCheckpoints)).", accepts: { $0 >= 1 }),
        .number("log-every", \.logEvery, expects: "a whole number of at least 1",
                help: "Log a progress line and a metrics record every N steps (default \(d.logEvery)).", accepts: { $0 >= 1 }),
        .number("replica-check-every", \.replicaCheckEvery, expects: "a whole number of at least 1",
                help: "Compare replica checksums every N steps (default \(d.replicaCheckEvery)).", accepts: { $0 >= 1 }),
        .number("max-nonfinite-steps", key: "maxNonFiniteSteps", \.maxNonFiniteSteps, expects: "a whole number of at least 1",
                help: "Stop after this many non-finite steps in a row (default \(d.maxNonFiniteSteps)).", accepts: { $0 >= 1 }),
        .toggle("eval", key: "evaluateTest", \.evaluateTest, help: "Evaluate the test split after each epoch (default on)."),
        .toggle("explain", \.explain, help: "Export explanations of the test split at the end (default on)."),
        .number("explain-iwae", key: "explainIWAE", \.explainIWAE, expects: "a whole number from 1 to \(TrainConfig.maximumIWAE)",
                help: "Importance samples for the explanation's -log p(x) estimate (default \(d.explainIWAE)).",
                accepts: { $0 >= 1 && $0 <= TrainConfig.maximumIWAE }),
        .indices("explain-sample", key: "explainSamples", \.explainSamples,
                 help: "A test sample the export explains one by one (repeatable; default 0, 1, 2)."),
        .toggle("explain-lime", key: "explainLIME", \.explainLIME, help: "Local surrogate explanations (LIME) in the export (default on)."),
        .number("explain-weight-samples", key: "explainWeightSamples", \.explainWeightSamples, expects: "a whole number from 0 to 4096",
                help: "Bayesian models: weight samples the export measures the model's own uncertainty with, 0 for none (default \(d.explainWeightSamples)).",
                accepts: { $0 >= 0 && $0 <= 4096 }),
        .number("max-steps", \.maxSteps, expects: "a whole number >= 0",
                help: "Stop after this many steps in all; saved with the run, so pass 0 to lift it on --resume (default 0: no limit).",
                accepts: { $0 >= 0 }),
        .number("grad-bucket-mb", key: "gradBucketMB", \.gradBucketMB, placeholder: "MiB",
                expects: "a size in MiB from 0 (one fused allreduce) to 4096",
                help: "Reduce gradients in buckets of this many MiB, each sent while backward goes on (default \(d.gradBucketMB): one fused allreduce after backward).",
                accepts: { $0.isFinite && $0 >= 0 && $0 <= 4096 }),
        .choice("grad-compression", \.gradCompression, TrainConfig.supportedGradCompressions,
                help: "Send gradients as 16-bit floats, summed in fp32: none, bf16 or fp16 (default \(d.gradCompression))."),
        .number("grad-low-rank", key: "gradLowRank", \.gradLowRank, expects: "a whole number from 0 (off) to 64",
                help: "Send each weight matrix's gradient as rank-R factors with error feedback (PowerSGD): two small allreduces instead of the whole gradient, for slow links; 4 sends about 2% of the bytes for the benchmark model (default \(d.gradLowRank): off).",
                accepts: { (0...64).contains($0) }),
        .toggle("bayesian-weights", \.bayesianWeights,
                help: "Bayes by Backprop: a Gaussian over every dense, conv and transposed-conv layer's weights, the latent head and the decoder's included (default off; bdense:/bconv:/bconvT: entries make single layers Bayesian)."),
        .number("prior-sigma", \.priorSigma, placeholder: "x", expects: "a positive number",
                help: "Standard deviation of the Gaussian weight prior (default \(d.priorSigma)).", accepts: { $0.isFinite && $0 > 0 }),
        .number("rho-init", \.rhoInit, placeholder: "x", expects: "a number from -30 to 10",
                help: "Initial rho of every Bayesian weight, sigma = softplus(rho) (default \(d.rhoInit)).",
                accepts: { $0.isFinite && $0 >= -30 && $0 <= 10 }),
        .optionalNumber("exclude-class", \.excludeClass, placeholder: "label", expects: "a label >= 0",
                        help: "Train without the samples of this label (the test split keeps them).",
                        accepts: { $0 >= 0 && $0 <= Int(Int32.max) }),
        .toggle("shard-optimizer", \.shardOptimizer,
                help: "Shard Adam over the ranks (ZeRO stage 1): gradients reduce-scattered, each rank updates and keeps the moments of 1/P of the parameters, then all-gathers them; ranks on one host do both in shared memory, the fastest step there (Launch/train.sh picks it for several ranks); checkpoints stay whole (default off)."),
    ]

    /// The setting of `--flag`, if there is one.
    public static func named(flag: String) -> TrainSetting? { byFlag[flag] }
    /// The setting of config key `key`, if there is one.
    public static func named(key: String) -> TrainSetting? { byKey[key] }

    private static let byFlag = Dictionary(uniqueKeysWithValues: all.map { ($0.flag, $0) })
    private static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// `train --help`'s list of settings, a paragraph each (the help printer wraps them).
    public static var helpText: String {
        all.map { s -> String in
            let usage: String
            switch s.form {
            case .value(let p): usage = "--\(s.flag) <\(p)>"
            case .repeated(let p): usage = "--\(s.flag) <\(p)> (repeatable)"
            case .toggle: usage = "--\(s.flag) / --no-\(s.flag)"
            }
            return usage + ": " + s.help + " [config key: \(s.key)]"
        }.joined(separator: "\n")
    }
}

extension TrainSetting {
    /// A layer spec list (`--encoder` / `--decoder`); a spec that does not parse is refused with
    /// the parser's own line, which names the entry and what it expects.
    static func spec(_ flag: String, _ path: WritableKeyPath<TrainConfig, String?>, help: String) -> TrainSetting {
        TrainSetting(
            flag: flag, key: camelCase(flag), help: help, form: .value(placeholder: "entries"), expects: "a layer spec list",
            jsonType: "a string or null",
            parse: { config, texts in config[keyPath: path] = texts.last },
            show: { $0[keyPath: path] ?? "none" },
            accepts: { config in
                if let text = config[keyPath: path] { _ = try LayerSpec.parseList(text, flag: flag) }
                return true
            })
    }
}
