import Foundation
import Linalg

/// The one factory: a model config becomes its encoder layers (ending in the latent block's
/// head), its latent block and its decoder layers, with every shape worked out and checked. A
/// new layer type is one case here and one in the spec parser.
struct ModelArchitecture {
    let input: TensorShape
    /// Encoder layers, the head last.
    let encoder: [any LayerDefinition]
    let latent: any LatentBlock
    /// Decoder layers; the last one's output is the data's flat `[rows, inputDim]`.
    let decoder: [any LayerDefinition]

    /// `latentBlock` replaces the one the config names (a test's own conformer).
    init(config c: ModelConfig, latentBlock: (any LatentBlock)? = nil) throws {
        let D = c.inputDim
        let image: TensorShape?
        if let s = c.inputShape {
            guard s.count == 3, s.allSatisfy({ $0 >= 1 }), s[0] * s[1] * s[2] == D else {
                throw ConfigError("model config: inputShape \(s) must be [channels, height, width] with \(D) values in all")
            }
            image = .image(channels: s[0], height: s[1], width: s[2])
        } else {
            image = nil
        }
        input = .flat(D)
        latent = try latentBlock ?? LatentBlockFactory.make(c)
        var bayes = BayesianPlan(settings: c.bayesian ?? BayesianWeights())
        encoder = try Self.encoder(c.encoderLayers, input: image ?? .flat(D), activation: c.activation, latent: latent,
                                   bayes: &bayes)
        decoder = try Self.decoder(c.decoderLayers, latent: c.latent, output: image ?? .flat(D), activation: c.activation,
                                   bayes: &bayes)
    }

    /// Which layers are Bayesian, and the next one's noise stream (layers are numbered encoder
    /// first, then decoder, so a layer's noise does not change when another layer changes kind).
    struct BayesianPlan {
        let settings: BayesianWeights
        var next = 0
        func wanted(_ spec: LayerSpec?) -> Bool { settings.allLayers || (spec?.isBayesian ?? false) }

        /// A dense layer, Bayesian when `spec` (nil: a layer the factory adds) or the settings say so.
        mutating func dense(_ spec: LayerSpec?, name: String, inDim: Int, outDim: Int, activation: Activation?,
                            base: [ParameterDeclaration]? = nil) -> any LayerDefinition {
            guard wanted(spec) else {
                return DenseDefinition(name: name, inDim: inDim, outDim: outDim, activation: activation, parameters: base)
            }
            next += 1
            return BayesianDenseDefinition(name: name, inDim: inDim, outDim: outDim, activation: activation,
                                           noiseLayer: next - 1, rhoInit: settings.rhoInit, base: base)
        }
    }

    private static func encoder(_ specs: [LayerSpec], input: TensorShape, activation: Activation,
                                latent: any LatentBlock, bayes: inout BayesianPlan) throws -> [any LayerDefinition] {
        var layers: [any LayerDefinition] = []
        var shape: TensorShape = .flat(input.count)
        var index = 0, other = 0
        func where_(_ spec: LayerSpec) -> String { "--encoder \(spec) (encoder.\(index))" }
        func toImage(_ spec: LayerSpec) throws {
            if case .image = shape { return }
            guard layers.isEmpty, case .image = input else {
                throw ConfigError("\(where_(spec)): needs an image input, found a flat \(shape) (a convolution or pooling cannot follow a dense layer\(layers.isEmpty ? ", and the data have no image shape" : ""))")
            }
            layers.append(ReshapeDefinition(name: "encoder.input", direction: .unflatten, image: input))
            shape = input
        }
        for spec in specs {
            switch spec {
            case .dense(let n), .bayesianDense(let n):
                if case .image = shape {
                    layers.append(ReshapeDefinition(name: "encoder.flatten\(other)", direction: .flatten, image: shape))
                    other += 1
                    shape = .flat(shape.count)
                }
                layers.append(bayes.dense(spec, name: "encoder.\(index)", inDim: shape.count, outDim: n, activation: activation))
                shape = .flat(n)
                index += 1
            case .conv(let ch, let k, let s, let p), .bayesianConv(let ch, let k, let s, let p):
                try toImage(spec)
                let pad = p ?? (k - 1) / 2
                try checkWindow(shape, kernel: k, stride: s, padding: pad, what: where_(spec))
                let d: any LayerDefinition
                if bayes.wanted(spec) {
                    d = BayesianConv2DDefinition(name: "encoder.\(index)", input: shape, outChannels: ch, kernel: k,
                                                 stride: s, padding: pad, activation: activation, noiseLayer: bayes.next,
                                                 rhoInit: bayes.settings.rhoInit)
                    bayes.next += 1
                } else {
                    d = Conv2DDefinition(name: "encoder.\(index)", input: shape, outChannels: ch, kernel: k, stride: s,
                                         padding: pad, activation: activation)
                }
                layers.append(d)
                shape = d.output
                index += 1
            case .maxPool(let k, let s, let p):
                try toImage(spec)
                try checkWindow(shape, kernel: k, stride: s, padding: p, what: "--encoder \(spec)")
                let d = MaxPool2DDefinition(name: "encoder.pool\(other)", input: shape, kernel: k, stride: s, padding: p)
                other += 1
                layers.append(d)
                shape = d.output
            case .convTranspose, .bayesianConvTranspose:
                throw ConfigError("\(where_(spec)): transposed convolutions belong in --decoder; the encoder takes dense, conv and pool")
            }
        }
        if case .image = shape {
            layers.append(ReshapeDefinition(name: "encoder.flatten\(other)", direction: .flatten, image: shape))
            shape = .flat(shape.count)
        }
        layers.append(bayes.dense(nil, name: "encoder.head", inDim: shape.count, outDim: latent.headWidth, activation: nil,
                                  base: latent.headParameters(inDim: shape.count)))
        return layers
    }

    /// A window of `kernel` with `padding` must fit the padded image and leave at least one output.
    private static func checkWindow(_ shape: TensorShape, kernel k: Int, stride s: Int, padding p: Int, what: String) throws {
        guard case .image(let c, let h, let w) = shape else { return }
        if p > k / 2 {
            throw ConfigError("\(what): padding \(p) is more than half the kernel \(k)")
        }
        if k > h + 2 * p || k > w + 2 * p {
            throw ConfigError("\(what): a \(k)x\(k) kernel does not fit the \(c)x\(h)x\(w) input (padding \(p))")
        }
    }

    private static func decoder(_ specs: [LayerSpec], latent L: Int, output: TensorShape,
                                activation: Activation, bayes: inout BayesianPlan) throws -> [any LayerDefinition] {
        // The decoder is dense entries, then transposed convolutions up to the output image.
        guard let firstT = specs.firstIndex(where: { $0.transposedConvolution != nil }) else {
            for spec in specs {
                if spec.denseWidth != nil { continue }
                throw ConfigError("--decoder \(spec): the decoder takes dense, bdense, convT and bconvT entries")
            }
            var layers: [any LayerDefinition] = []
            var width = L
            for (j, spec) in specs.enumerated() {
                guard let n = spec.denseWidth else { continue }
                layers.append(bayes.dense(spec, name: "decoder.\(j)", inDim: width, outDim: n, activation: activation))
                width = n
            }
            layers.append(bayes.dense(nil, name: "decoder.\(specs.count)", inDim: width, outDim: output.count, activation: nil))
            return layers
        }
        for spec in specs[firstT...] {
            guard spec.transposedConvolution != nil else {
                throw ConfigError("--decoder \(spec): after a convT entry only convT entries can follow (the decoder goes dense, then transposed convolutions up to the image)")
            }
        }
        guard case .image(let outC, let outH, let outW) = output else {
            throw ConfigError("--decoder \(specs[firstT]): transposed convolutions need data with an image shape, found flat samples of \(output.count) values")
        }
        // Work the image sides back from the output: entry i's image is what its transposed
        // convolution turns into entry i+1's image (or the output).
        struct Step { let channels, kernel, stride, padding, outputPadding, h, w: Int; let outChannels: Int; let spec: LayerSpec }
        var steps: [Step] = []
        var nextH = outH, nextW = outW, nextC = outC
        for i in stride(from: specs.count - 1, through: firstT, by: -1) {
            guard let (ch, k, s, p, op) = specs[i].transposedConvolution else { continue }
            let pad = p ?? (k - 1) / 2
            func side(_ out: Int) throws -> (Int, Int) {
                let span = out + 2 * pad - k
                let o = op ?? (span >= 0 ? span % s : 0)
                guard span - o >= 0, (span - o) % s == 0, o < s else {
                    throw ConfigError("--decoder \(specs[i]): no input side gives \(nextC)x\(nextH)x\(nextW) with a \(k)x\(k) kernel, stride \(s), padding \(pad)\(op.map { ", output padding \($0)" } ?? ""): (side − 1)·\(s) − 2·\(pad) + \(k) + output padding must be \(out)")
                }
                return ((span - o) / s + 1, o)
            }
            let (h, oh) = try side(nextH)
            let (w, ow) = try side(nextW)
            guard oh == ow else {
                throw ConfigError("--decoder \(specs[i]): the \(nextC)x\(nextH)x\(nextW) output needs different output paddings for height (\(oh)) and width (\(ow))")
            }
            steps.insert(Step(channels: ch, kernel: k, stride: s, padding: pad, outputPadding: oh, h: h, w: w,
                              outChannels: nextC, spec: specs[i]), at: 0)
            nextH = h; nextW = w; nextC = ch
        }
        var layers: [any LayerDefinition] = []
        var width = L
        var index = 0
        for spec in specs[..<firstT] {
            guard let n = spec.denseWidth else {
                throw ConfigError("--decoder \(spec): the decoder takes dense, bdense, convT and bconvT entries")
            }
            layers.append(bayes.dense(spec, name: "decoder.\(index)", inDim: width, outDim: n, activation: activation))
            width = n
            index += 1
        }
        let first = steps[0]
        let firstImage = TensorShape.image(channels: first.channels, height: first.h, width: first.w)
        layers.append(bayes.dense(nil, name: "decoder.\(index)", inDim: width, outDim: firstImage.count, activation: activation))
        index += 1
        layers.append(ReshapeDefinition(name: "decoder.unflatten", direction: .unflatten, image: firstImage))
        var shape = firstImage
        for (i, st) in steps.enumerated() {
            let plain = ConvTranspose2DDefinition(name: "decoder.\(index)", input: shape, outChannels: st.outChannels,
                                                  kernel: st.kernel, stride: st.stride, padding: st.padding,
                                                  outputPadding: st.outputPadding,
                                                  activation: i == steps.count - 1 ? nil : activation)
            let d: any LayerDefinition
            if bayes.wanted(st.spec) {
                d = BayesianConvTranspose2DDefinition(plain, noiseLayer: bayes.next, rhoInit: bayes.settings.rhoInit)
                bayes.next += 1
            } else {
                d = plain
            }
            layers.append(d)
            shape = d.output
            index += 1
        }
        precondition(shape == output, "decoder shapes worked back from \(output) ended at \(shape)")
        layers.append(ReshapeDefinition(name: "decoder.flatten", direction: .flatten, image: output))
        return layers
    }

    /// Every layer, one line each: what `train` prints and `inspect` shows.
    var summary: [String] {
        encoder.map(\.description) + ["latent \(type(of: latent)) \(latent.latent)"] + decoder.map(\.description)
    }
}
