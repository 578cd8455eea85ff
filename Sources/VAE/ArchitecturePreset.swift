/// Named architectures for `--architecture`: encoder and decoder entries (see `LayerSpec`) for an
/// input image of a given side.
public enum ArchitecturePreset {
    public static let names = ["mlp", "conv", "alexnet"]

    /// nil encoder/decoder: the dense layers of `--hidden` / `--decoder-hidden` (today's MLP).
    public static func layers(_ name: String, imageSide: Int) -> (encoder: [LayerSpec], decoder: [LayerSpec])? {
        switch name {
        case "conv":
            // A small DCGAN-style pair: two stride-2 4x4 convolutions halve the side twice.
            return (try! LayerSpec.parseList("conv:32k4s2,conv:64k4s2,dense:256", flag: "architecture"),
                    try! LayerSpec.parseList("dense:256,convT:64k4s2,convT:32k4s2", flag: "architecture"))
        case "alexnet" where imageSide < 64:
            // Five 3x3 convolutions, max pooling after the first, second and fifth, channels scaled
            // to a 28x28 image (28 -> 14 -> 7 -> 3); the decoder climbs back 3 -> 7 -> 14 -> 28.
            return (try! LayerSpec.parseList(
                        "conv:32k3s1,pool:k2s2,conv:64k3s1,pool:k2s2,conv:96k3s1,conv:64k3s1,conv:64k3s1,pool:k3s2,dense:256",
                        flag: "architecture"),
                    try! LayerSpec.parseList("dense:256,convT:96k3s2p0,convT:64k4s2,convT:32k4s2", flag: "architecture"))
        case "alexnet":
            // The original's layers (11x11 stride 4, 5x5, three 3x3, 3x3 stride-2 pooling) for
            // inputs of 64 pixels a side and more; the decoder doubles the side four times.
            return (try! LayerSpec.parseList(
                        "conv:64k11s4p2,pool:k3s2,conv:192k5s1p2,pool:k3s2,conv:384k3s1,conv:256k3s1,conv:256k3s1,pool:k3s2,dense:1024",
                        flag: "architecture"),
                    try! LayerSpec.parseList("dense:1024,convT:256k4s2,convT:128k4s2,convT:64k4s2,convT:32k4s2",
                                             flag: "architecture"))
        default:
            return nil
        }
    }

    /// The image shape `[channels, height, width]` convolutions see in samples of `sampleShape`:
    /// `[h, w]` is one channel, `[c, h, w]` as it is; nil for flat samples.
    public static func imageShape(sampleShape: [Int]) -> [Int]? {
        switch sampleShape.count {
        case 2: return [1] + sampleShape
        case 3: return sampleShape
        default: return nil
        }
    }
}
