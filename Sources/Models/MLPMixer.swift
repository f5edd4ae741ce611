import NN
import Tensor

// MLP-Mixer (Tolstikhin et al. 2021) with timm's parameter names: stem.proj,
// blocks.N.{norm1, mlp_tokens.fc1/fc2, norm2, mlp_channels.fc1/fc2}, norm, head.
// Stages: the tokens after blocks d/4, d/2, 3d/4 and d (the last after the final
// norm), reshaped to the patch grid [N, C, g, g] (the authors' mmcls Mixer returns
// blocks -7/-5/-3/-1 of Mixer-B and the normed output).

public struct MixerConfig: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var inputChannels: Int
    public var classes: Int
    public var patchSize: Int
    public var width: Int
    public var depth: Int
    /// Hidden width of the token-mixing MLP (timm: 0.5 * width) and the channel MLP (4 * width).
    public var tokensHidden: Int
    public var channelsHidden: Int
    public var dropPathRate: Float

    public init(imageSize: Int, inputChannels: Int, classes: Int, patchSize: Int, width: Int, depth: Int,
                tokensHidden: Int, channelsHidden: Int, dropPathRate: Float = 0) {
        precondition(imageSize % patchSize == 0, "image size \(imageSize) is not a multiple of patch \(patchSize)")
        precondition(depth % 4 == 0, "depth \(depth) must split into 4 stages")
        self.imageSize = imageSize; self.inputChannels = inputChannels; self.classes = classes
        self.patchSize = patchSize; self.width = width; self.depth = depth
        self.tokensHidden = tokensHidden; self.channelsHidden = channelsHidden; self.dropPathRate = dropPathRate
    }

    public var grid: Int { imageSize / patchSize }
    public var tokens: Int { grid * grid }
    public var stageEnds: [Int] { [depth / 4, depth / 2, 3 * depth / 4, depth] }
}

/// x + tokenMLP(norm1(x)^T)^T, then x + channelMLP(norm2(x)), on [N, L, C].
public final class MixerBlock: Module {
    public let norm1: LayerNorm
    public let mlpTokens: MLP
    public let norm2: LayerNorm
    public let mlpChannels: MLP
    public let dropPath: Float

    public init(_ config: MixerConfig, dropPath: Float, rng: inout RandomGenerator) {
        let tn = Init.truncatedNormal(std: 0.02)
        norm1 = LayerNorm(config.width, eps: 1e-6)
        mlpTokens = MLP(config.tokens, hidden: config.tokensHidden, activation: .gelu, rng: &rng, weightInit: tn)
        norm2 = LayerNorm(config.width, eps: 1e-6)
        mlpChannels = MLP(config.width, hidden: config.channelsHidden, activation: .gelu, rng: &rng, weightInit: tn)
        self.dropPath = dropPath
    }

    /// `rows`: of the global batch (StochasticStream).
    public func callAsFunction(_ x: Tensor, rng: inout RandomGenerator, rows: BatchRows? = nil) -> Tensor {
        // Token mixing: the MLP runs along the token axis of [N, C, L].
        let mixed = mlpTokens(norm1(x).permuted([0, 2, 1])).permuted([0, 2, 1])
        let h = x + mixed.dropPath(dropPath, training: isTraining, rng: &rng, rows: rows)
        return h + mlpChannels(norm2(h)).dropPath(dropPath, training: isTraining, rng: &rng, rows: rows)
    }
}

public final class MLPMixer: Module, ImageClassifier, StochasticLayer {
    public let config: MixerConfig
    /// timm's `stem` is a PatchEmbed whose conv is `stem.proj`.
    public let stem: PatchEmbed
    public let blocks: [MixerBlock]
    public let norm: LayerNorm
    public let head: Linear
    private var _drops: StochasticStream

    public init(_ config: MixerConfig, rng: inout RandomGenerator) {
        self.config = config
        stem = PatchEmbed(inputChannels: config.inputChannels, width: config.width, patchSize: config.patchSize, rng: &rng)
        var blocks: [MixerBlock] = []
        for i in 0..<config.depth {
            let rate = stochasticDepthRate(config.dropPathRate, block: i, of: config.depth)
            blocks.append(MixerBlock(config, dropPath: rate, rng: &rng))
        }
        self.blocks = blocks
        norm = LayerNorm(config.width, eps: 1e-6)
        head = Linear(config.width, config.classes, rng: &rng, weightInit: Init.truncatedNormal(std: 0.02))
        _drops = StochasticStream(&rng)
    }

    public var stageChannels: [Int] { Array(repeating: config.width, count: 4) }
    public var stageGrids: [Int] { Array(repeating: config.grid, count: 4) }

    public func stageFeatures(_ x: Tensor) -> StageOutputs {
        var t = stem(x)
        let rows = _drops.rows
        var stages: [Tensor] = []
        let ends = config.stageEnds
        for (i, block) in blocks.enumerated() {
            t = block(t, rng: &_drops.rng, rows: rows)
            if i + 1 == ends[3] { t = norm(t) }
            if ends.contains(i + 1) { stages.append(tokensToMap(t, grid: config.grid)) }
        }
        return StageOutputs(stages: stages, logits: head(t.mean(axis: 1)))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var t = stem(x)
        let rows = _drops.rows
        for block in blocks { t = block(t, rng: &_drops.rng, rows: rows) }
        return head(norm(t).mean(axis: 1))
    }

    // MARK: - Presets

    static func preset(_ name: String, _ config: MixerConfig, scale: ModelScale, paperParamsM: Double? = nil,
                       paperGFLOPs: Double? = nil) -> ModelPreset {
        ModelPreset(name: name, family: "MLP-Mixer", scale: scale, inputSize: config.imageSize,
                    inputChannels: config.inputChannels, classes: config.classes, paperParamsM: paperParamsM,
                    paperGFLOPs: paperGFLOPs) { rng in MLPMixer(config, rng: &rng) }
    }

    public static func paper(patch: Int, width: Int, depth: Int) -> MixerConfig {
        MixerConfig(imageSize: 224, inputChannels: 3, classes: 1000, patchSize: patch, width: width, depth: depth,
                    tokensHidden: width / 2, channelsHidden: 4 * width)
    }

    public static func mini(width: Int, depth: Int, tokensHidden: Int) -> MixerConfig {
        MixerConfig(imageSize: 32, inputChannels: 1, classes: 10, patchSize: 4, width: width, depth: depth,
                    tokensHidden: tokensHidden, channelsHidden: 4 * width)
    }

    /// Mixer-B/14 at 224 px has a 16x16 grid, so its token MLPs are 256 -> 384 -> 256
    /// and it counts 60,295,912 parameters; the paper's 59.88M repeats Mixer-B/16's
    /// figure (its 16.45 GFLOPs do match the 256-token model).
    public static let presets: [ModelPreset] = [
        preset("mixer-s16", paper(patch: 16, width: 512, depth: 8), scale: .paper, paperParamsM: 18.53, paperGFLOPs: 3.78),
        preset("mixer-b16", paper(patch: 16, width: 768, depth: 12), scale: .paper, paperParamsM: 59.88, paperGFLOPs: 12.61),
        preset("mixer-b14", paper(patch: 14, width: 768, depth: 12), scale: .paper, paperParamsM: 59.88, paperGFLOPs: 16.45),
        preset("mixer-mini-s", mini(width: 64, depth: 4, tokensHidden: 32), scale: .mini),
        preset("mixer-mini-b", mini(width: 96, depth: 4, tokensHidden: 32), scale: .mini),
    ]
}

extension MLPMixer {
    public func restartStream(seed: UInt64, step: Int, rows: BatchRows?) { _drops.restart(seed: seed, step: step, rows: rows) }
}
