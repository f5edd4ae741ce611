import NN
import Tensor

// Swin Transformer (Liu et al. 2021), laid out as timm >= 0.9 builds it so that
// parameter names line up with its checkpoints: `patch_embed.proj/norm`,
// `layers.N.downsample.norm/reduction` (patch merging at the START of stages 2-4),
// `layers.N.blocks.M.{norm1, attn.qkv, attn.proj, attn.relative_position_bias_table,
// norm2, mlp.fc1, mlp.fc2}`, `norm`, `head.fc`. Tokens flow channels-last [B, H, W, C].
// (mmcls names the same tensors `stages.N.*` with the merging at the end of a stage;
// a checkpoint converter only renames and shifts the stage index of `downsample`.)

/// Hyper-parameters of one Swin configuration.
public struct SwinConfig: Sendable {
    public var embedDim: Int
    public var depths: [Int]
    public var heads: [Int]
    public var window: Int
    /// Patch embedding convolution: kernel = stride = 4 for the paper models; the mini
    /// models embed every pixel (stride 1) with a 3x3 kernel.
    public var patchKernel: Int
    public var patchStride: Int
    public var patchPadding: Int
    public var mlpRatio: Int
    public var dropPathRate: Float
    public var inputSize: Int
    public var inputChannels: Int
    public var classes: Int

    public init(embedDim: Int, depths: [Int], heads: [Int], window: Int, patchKernel: Int = 4, patchStride: Int = 4,
                patchPadding: Int = 0, mlpRatio: Int = 4, dropPathRate: Float = 0.1, inputSize: Int = 224,
                inputChannels: Int = 3, classes: Int = 1000) {
        precondition(depths.count == 4 && heads.count == 4, "Swin has 4 stages")
        self.embedDim = embedDim; self.depths = depths; self.heads = heads; self.window = window
        self.patchKernel = patchKernel; self.patchStride = patchStride; self.patchPadding = patchPadding
        self.mlpRatio = mlpRatio; self.dropPathRate = dropPathRate; self.inputSize = inputSize
        self.inputChannels = inputChannels; self.classes = classes
    }

    /// Token grid side of each stage.
    public var stageGrids: [Int] {
        let g = (inputSize + 2 * patchPadding - patchKernel) / patchStride + 1
        return [g, g / 2, g / 4, g / 8]
    }

    public var stageChannels: [Int] { [1, 2, 4, 8].map { embedDim * $0 } }
}

private let transformerInit = Init.truncatedNormal(std: 0.02)

/// Conv patch embedding + LN: [B, Cin, H, W] -> [B, H/p, W/p, C].
public final class SwinPatchEmbed: Module {
    public let proj: Conv2d
    public let norm: LayerNorm

    public init(_ config: SwinConfig, rng: inout RandomGenerator) {
        // timm leaves the conv at PyTorch's default init (its _init_weights touches Linear only).
        proj = Conv2d(config.inputChannels, config.embedDim, kernel: config.patchKernel, stride: config.patchStride,
                      padding: config.patchPadding, rng: &rng)
        norm = LayerNorm(config.embedDim)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { norm(proj(x).permuted([0, 2, 3, 1])) }
}

/// Window multi-head self-attention with a learned relative position bias
/// (table [(2w-1)^2, heads] gathered by `relativePositionIndex`).
public final class WindowAttention: Module {
    public let qkv: Linear
    public let proj: Linear
    public let relativePositionBiasTable: Tensor
    public let heads: Int
    public let window: Int
    private let _relativePositionIndex: [Int]

    public init(dim: Int, heads: Int, window: Int, rng: inout RandomGenerator) {
        precondition(dim % heads == 0, "attention width \(dim) not divisible by \(heads) heads")
        qkv = Linear(dim, 3 * dim, rng: &rng, weightInit: transformerInit)
        proj = Linear(dim, dim, rng: &rng, weightInit: transformerInit)
        relativePositionBiasTable = parameter([(2 * window - 1) * (2 * window - 1), heads], transformerInit, rng: &rng)
        self.heads = heads
        self.window = window
        _relativePositionIndex = relativePositionIndex(window: window)
    }

    /// Relative position bias [heads, w^2, w^2].
    public func relativePositionBias() -> Tensor {
        let n = window * window
        return relativePositionBiasTable.embedding(_relativePositionIndex).reshaped([n, n, heads]).permuted([2, 0, 1])
    }

    /// x [B * nW, N, C] (N = w^2); mask [nW, N, N] for shifted windows.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let d = x.shape[2] / heads
        return proj(multiHeadAttention(qkv: qkv(x), heads: heads, scale: 1 / Float(d).squareRoot(), bias: relativePositionBias(), mask: mask))
    }
}

/// Pre-norm Swin block: (shifted) window attention and an MLP, each residual with drop path.
public final class SwinBlock: Module, StochasticLayer {
    public let norm1: LayerNorm
    public let attn: WindowAttention
    public let norm2: LayerNorm
    public let mlp: MLP
    public let window: Int
    public let shift: Int
    public let dropPathRate: Float
    private let _attnMask: Tensor?
    /// The block's (shifted) window partition, one token permutation each way.
    private let _windows: ShiftedWindows
    private var _drops: StochasticStream

    /// `grid` is the stage's token grid; a grid no larger than the window is one window
    /// with no shift (as timm does).
    public init(dim: Int, heads: Int, grid: Int, window: Int, shifted: Bool, mlpRatio: Int, dropPathRate: Float,
                rng: inout RandomGenerator) {
        let w = Swift.min(window, grid)
        let s = shifted && grid > window ? window / 2 : 0
        precondition(grid % w == 0, "window \(w) does not tile a \(grid)x\(grid) grid")
        norm1 = LayerNorm(dim)
        attn = WindowAttention(dim: dim, heads: heads, window: w, rng: &rng)
        norm2 = LayerNorm(dim)
        mlp = MLP(dim, hidden: dim * mlpRatio, activation: .gelu, rng: &rng, weightInit: transformerInit)
        self.window = w
        shift = s
        self.dropPathRate = dropPathRate
        _attnMask = s > 0 ? shiftedWindowMask(height: grid, width: grid, window: w, shift: s) : nil
        _windows = ShiftedWindows(height: grid, width: grid, window: w, shift: s)
        _drops = StochasticStream(&rng)
    }

    /// x [B, H, W, C] -> [B, H, W, C].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = _windows.reverse(attn(_windows.partition(norm1(x)), mask: _attnMask))
        let rows = _drops.rows
        let x = x + y.dropPath(dropPathRate, training: isTraining, rng: &_drops.rng, rows: rows)
        return x + mlp(norm2(x)).dropPath(dropPathRate, training: isTraining, rng: &_drops.rng, rows: rows)
    }
}

/// 2x2 neighbourhood concat -> LN(4C) -> Linear(4C -> 2C, no bias): [B, H, W, C] -> [B, H/2, W/2, 2C].
public final class PatchMerging: Module {
    public let norm: LayerNorm
    public let reduction: Linear

    public init(dim: Int, rng: inout RandomGenerator) {
        norm = LayerNorm(4 * dim)
        reduction = Linear(4 * dim, 2 * dim, bias: false, rng: &rng, weightInit: transformerInit)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        // Channel order x0 (0,0), x1 (1,0), x2 (0,1), x3 (1,1) as (row, column) offsets,
        // like the original torch.cat([x0, x1, x2, x3], -1).
        let merged = x.reshaped([b, h / 2, 2, w / 2, 2, c]).permuted([0, 1, 3, 4, 2, 5]).reshaped([b, h / 2, w / 2, 4 * c])
        return reduction(norm(merged))
    }
}

/// One stage: optional patch merging, then its blocks (timm's SwinTransformerStage).
public final class SwinStage: Module {
    public let downsample: PatchMerging?
    public let blocks: [SwinBlock]

    init(downsample: PatchMerging?, blocks: [SwinBlock]) {
        self.downsample = downsample
        self.blocks = blocks
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var x = downsample.map { $0(x) } ?? x
        for block in blocks { x = block(x) }
        return x
    }
}

/// Global average pooling over the token grid + linear classifier (`head.fc`).
public final class ClassifierHead: Module {
    public let fc: Linear

    public init(_ features: Int, _ classes: Int, rng: inout RandomGenerator) {
        fc = Linear(features, classes, rng: &rng, weightInit: transformerInit)
    }

    /// x [B, H, W, C] -> [B, classes].
    public func callAsFunction(_ x: Tensor) -> Tensor { fc(x.mean(axes: [1, 2])) }
}

public final class SwinTransformer: Module, TeacherModel {
    public let patchEmbed: SwinPatchEmbed
    public let layers: [SwinStage]
    public let norm: LayerNorm
    public let head: ClassifierHead
    public let config: SwinConfig

    public init(_ config: SwinConfig, rng: inout RandomGenerator) {
        self.config = config
        patchEmbed = SwinPatchEmbed(config, rng: &rng)
        let grids = config.stageGrids, dims = config.stageChannels
        let total = config.depths.reduce(0, +)
        var blockIndex = 0
        var layers: [SwinStage] = []
        for stage in 0..<4 {
            let downsample = stage == 0 ? nil : PatchMerging(dim: dims[stage - 1], rng: &rng)
            var blocks: [SwinBlock] = []
            for i in 0..<config.depths[stage] {
                let rate = stochasticDepthRate(config.dropPathRate, block: blockIndex, of: total)
                blocks.append(SwinBlock(dim: dims[stage], heads: config.heads[stage], grid: grids[stage],
                                        window: config.window, shifted: i % 2 == 1, mlpRatio: config.mlpRatio,
                                        dropPathRate: rate, rng: &rng))
                blockIndex += 1
            }
            layers.append(SwinStage(downsample: downsample, blocks: blocks))
        }
        self.layers = layers
        norm = LayerNorm(dims[3])
        head = ClassifierHead(dims[3], config.classes, rng: &rng)
    }

    public var stageChannels: [Int] { config.stageChannels }
    public var stageGrids: [Int] { config.stageGrids }

    public func stageFeatures(_ x: Tensor) -> StageOutputs {
        var t = patchEmbed(x)
        var maps: [Tensor] = []
        for (i, layer) in layers.enumerated() {
            t = layer(t)
            if i == 3 { t = norm(t) }
            maps.append(t.permuted([0, 3, 1, 2]))
        }
        return StageOutputs(stages: maps, logits: head(t))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var t = patchEmbed(x)
        for layer in layers { t = layer(t) }
        return head(norm(t))
    }

    /// Patch merging of the stage-3 grid, stage-4 blocks, final norm: [N, C3, H3, W3] -> [N, C4, H3/2, W3/2].
    public func forwardLastStage(_ stage3: Tensor) -> Tensor {
        precondition(stage3.rank == 4 && stage3.shape[1] == stageChannels[2],
                     "forwardLastStage: expected [N, \(stageChannels[2]), H, W], got \(stage3.shape)")
        return norm(layers[3](stage3.permuted([0, 2, 3, 1]))).permuted([0, 3, 1, 2])
    }
}

public enum Swin {
    static func preset(_ name: String, _ config: SwinConfig, paperParamsM: Double? = nil, paperGFLOPs: Double? = nil,
                       isTeacher: Bool) -> ModelPreset {
        ModelPreset(name: name, family: "swin", scale: config.inputSize == 224 ? .paper : .mini,
                    inputSize: config.inputSize, inputChannels: config.inputChannels, classes: config.classes,
                    paperParamsM: paperParamsM, paperGFLOPs: paperGFLOPs, isTeacher: isTeacher) { rng in
            SwinTransformer(config, rng: &rng)
        }
    }

    /// Mini models: 32x32x1 input, 10 classes, every pixel a token (3x3 conv embedding,
    /// stride 1), window 4, so the stage grids are 32/16/8/4 and stage 4 is one window.
    public static func mini(embedDim: Int, depths: [Int], heads: [Int]) -> SwinConfig {
        SwinConfig(embedDim: embedDim, depths: depths, heads: heads, window: 4, patchKernel: 3, patchStride: 1,
                   patchPadding: 1, dropPathRate: 0.1, inputSize: 32, inputChannels: 1, classes: 10)
    }

    /// The paper's Swin-L teacher. Drop path 0.1 as the released code builds it: the
    /// teacher config (configs/swin_transformer/swin-large_16xb64_in1k.py) takes its model
    /// from configs/_base_/models/swin_transformer/large_224.py, whose backbone sets no
    /// drop_path_rate (lusilili/UFD-KD, line 5), so SwinTransformer's default 0.1 applies
    /// (deep-optimization/ScaleKD mmcls/models/backbones/swin_transformer.py,
    /// SwinTransformer.__init__ `drop_path_rate=0.1`). It only acts with
    /// ScaleKDOptions.teacherMode == .train.
    public static let large = SwinConfig(embedDim: 192, depths: [2, 2, 18, 2], heads: [6, 12, 24, 48], window: 7,
                                         dropPathRate: 0.1)

    public static var presets: [ModelPreset] {
        [
            // Paper models at 224 px, window 7; drop path of the official configs (T/S trained
            // on IN-1K from scratch, B/L the IN-22K -> IN-1K fine-tuning configs).
            preset("swin-t", SwinConfig(embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 7, dropPathRate: 0.2),
                   paperParamsM: 28.29, paperGFLOPs: 4.36, isTeacher: false),
            preset("swin-s", SwinConfig(embedDim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], window: 7, dropPathRate: 0.3),
                   paperParamsM: 49.61, paperGFLOPs: 8.52, isTeacher: true),
            preset("swin-b", SwinConfig(embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 7, dropPathRate: 0.2),
                   paperParamsM: 87.77, paperGFLOPs: 15.14, isTeacher: true),
            preset("swin-l", large, paperParamsM: 196.53, paperGFLOPs: 34.04, isTeacher: true),
            // Minis, sized for 2 CPU cores. Stage 1 (32x32 = 1024 tokens) dominates the time
            // of everything but the matmuls, so it has one block (no shifted window there)
            // and the narrowest width; depth goes to the cheap 8x8 and 4x4 stages. As in the
            // paper, S is a deeper T and B, L are wider and deeper. Measured throughput: SwinTests.
            preset("swin-mini-t", mini(embedDim: 16, depths: [1, 1, 3, 1], heads: [1, 2, 4, 8]), isTeacher: false),
            preset("swin-mini-s", mini(embedDim: 16, depths: [1, 1, 6, 2], heads: [1, 2, 4, 8]), isTeacher: true),
            preset("swin-mini-b", mini(embedDim: 20, depths: [1, 1, 6, 3], heads: [1, 2, 4, 8]), isTeacher: true),
            preset("swin-mini-l", mini(embedDim: 24, depths: [1, 1, 6, 4], heads: [1, 2, 4, 8]), isTeacher: true),
        ]
    }
}

extension SwinBlock {
    public func restartStream(seed: UInt64, step: Int, rows: BatchRows?) { _drops.restart(seed: seed, step: step, rows: rows) }
}
