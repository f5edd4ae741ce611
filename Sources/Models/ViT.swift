import NN
import Tensor

// Plain vision transformers: ViT/DeiT students and the BEiT/EVA-style teacher
// (the BEiT teacher presets and its relative position bias index are at the end).
// Parameter names follow timm: patch_embed.proj, cls_token, pos_embed,
// blocks.N.{norm1, attn.qkv, attn.q_bias, attn.v_bias,
// attn.relative_position_bias_table, attn.proj, gamma_1, norm2, mlp.fc1, mlp.fc2,
// gamma_2}, norm, head.
//
// Stages (ScaleKD's patched mmcls backbone, index=[d/4-1, d/2-1, 3d/4-1, d-1]):
// by default the token sequence after blocks d/4, d/2, 3d/4 and d, the last one
// after the final norm; a config may name other blocks (`tappedBlocks`, as the
// authors' BEiT-L/EVA teacher does). The class token (if any) is dropped and the
// patch tokens are reshaped to the patch grid [N, C, g, g].

/// How logits are read from the final (normed) tokens.
public enum ViTPooling: String, Codable, Sendable {
    /// Mean of the patch tokens (the authors' students: with_cls_token=False and a
    /// GAP head; EVA's out_type='avg_featmap'; BEiT's mean pooling).
    case average
    /// The class token (DeiT's and timm ViT's default head).
    case classToken
}

/// How the qkv projection is biased.
public enum QKVBias: String, Codable, Sendable {
    /// One bias of 3C (timm ViT, EVA).
    case qkv
    /// Separate q and v biases, no k bias (BEiT: `attn.q_bias`, `attn.v_bias`).
    case qv
    case none
}

/// One configuration of a plain vision transformer.
public struct ViTConfig: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var inputChannels: Int
    public var classes: Int
    public var patchSize: Int
    public var width: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Int
    /// Prepend a learnable class token to the sequence.
    public var classToken: Bool
    public var pooling: ViTPooling
    /// Learnable absolute position embedding (ViT, DeiT, EVA); BEiT uses relative bias only.
    public var absolutePositionEmbedding: Bool
    /// A relative position bias table per block (BEiT).
    public var relativePositionBias: Bool
    /// Layer scale init (BEiT's gamma_1/gamma_2); nil for none.
    public var layerScale: Float?
    public var qkvBias: QKVBias
    /// Stochastic depth, rising linearly over the blocks to this rate (0 = off).
    public var dropPathRate: Float
    /// 0-based indices of the blocks whose outputs are stages 1-4 (the last one after the
    /// final norm); nil = blocks d/4-1, d/2-1, 3d/4-1, d-1.
    public var tappedBlocks: [Int]?
    /// How many trailing blocks Teacher Parameter Perception runs (then the final norm);
    /// nil = d/4, the blocks of stage 4.
    public var perceptionBlocks: Int?

    public init(imageSize: Int, inputChannels: Int, classes: Int, patchSize: Int, width: Int, depth: Int,
                heads: Int, mlpRatio: Int = 4, classToken: Bool, pooling: ViTPooling = .average,
                absolutePositionEmbedding: Bool = true, relativePositionBias: Bool = false,
                layerScale: Float? = nil, qkvBias: QKVBias = .qkv, dropPathRate: Float = 0,
                tappedBlocks: [Int]? = nil, perceptionBlocks: Int? = nil) {
        precondition(imageSize % patchSize == 0, "image size \(imageSize) is not a multiple of patch \(patchSize)")
        precondition(depth % 4 == 0, "depth \(depth) must split into 4 stages")
        precondition(width % heads == 0, "width \(width) not divisible by \(heads) heads")
        precondition(classToken || pooling == .average, "class-token pooling needs a class token")
        self.imageSize = imageSize; self.inputChannels = inputChannels; self.classes = classes
        self.patchSize = patchSize; self.width = width; self.depth = depth; self.heads = heads
        self.mlpRatio = mlpRatio; self.classToken = classToken; self.pooling = pooling
        self.absolutePositionEmbedding = absolutePositionEmbedding
        self.relativePositionBias = relativePositionBias; self.layerScale = layerScale
        self.qkvBias = qkvBias; self.dropPathRate = dropPathRate
        if let tappedBlocks {
            precondition(tappedBlocks.count == 4 && tappedBlocks == tappedBlocks.sorted() && tappedBlocks.last == depth - 1,
                         "tapped blocks \(tappedBlocks): four ascending indices ending at the last block \(depth - 1)")
        }
        if let perceptionBlocks { precondition((1...depth).contains(perceptionBlocks), "TPP blocks \(perceptionBlocks) of \(depth)") }
        self.tappedBlocks = tappedBlocks; self.perceptionBlocks = perceptionBlocks
    }

    public var grid: Int { imageSize / patchSize }
    /// Numbers of blocks after which stages 1-4 end (tapped block index + 1).
    public var stageEnds: [Int] { tappedBlocks.map { $0.map { $0 + 1 } } ?? [depth / 4, depth / 2, 3 * depth / 4, depth] }
    /// Index of the first block `forwardLastStage` runs.
    public var perceptionStart: Int { depth - (perceptionBlocks ?? depth / 4) }
}

/// Non-overlapping patches to tokens: a stride-p conv, then [N, C, g, g] -> [N, g*g, C].
public final class PatchEmbed: Module {
    public let proj: Conv2d

    public init(inputChannels: Int, width: Int, patchSize: Int, rng: inout RandomGenerator) {
        // timm keeps PyTorch's default conv init for the patch projection.
        proj = Conv2d(inputChannels, width, kernel: patchSize, stride: patchSize, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { mapToTokens(proj(x)) }
}

/// [N, C, H, W] -> [N, H*W, C]
func mapToTokens(_ x: Tensor) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.reshaped([n, c, h * w]).permuted([0, 2, 1])
}

/// [N, g*g, C] -> [N, C, g, g]
func tokensToMap(_ x: Tensor, grid: Int) -> Tensor {
    let (n, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(l == grid * grid, "\(l) tokens do not fill a \(grid)x\(grid) grid")
    return x.permuted([0, 2, 1]).reshaped([n, c, grid, grid])
}

/// Multi-head self-attention in timm's BEiT layout: fused `qkv` weight; bias either
/// fused, split into `q_bias`/`v_bias` (k unbiased), or absent; and optionally a
/// learned relative position bias added to the logits.
public final class ViTAttention: Module {
    public let qkv: Linear
    public let qBias: Tensor?
    public let vBias: Tensor?
    public let relativePositionBiasTable: Tensor?
    public let proj: Linear
    public let heads: Int
    let relativeIndex: RelativePositionIndex?

    public init(width: Int, heads: Int, bias: QKVBias, relativePositionGrid: Int?, classToken: Bool,
                rng: inout RandomGenerator) {
        let tn = Init.truncatedNormal(std: 0.02)
        qkv = Linear(width, 3 * width, bias: bias == .qkv, rng: &rng, weightInit: tn)
        qBias = bias == .qv ? parameter([width], constant: 0) : nil
        vBias = bias == .qv ? parameter([width], constant: 0) : nil
        if let g = relativePositionGrid {
            let index = RelativePositionIndex(grid: g, classToken: classToken)
            relativeIndex = index
            relativePositionBiasTable = parameter([index.tableSize, heads], tn, rng: &rng)
        } else {
            relativeIndex = nil
            relativePositionBiasTable = nil
        }
        proj = Linear(width, width, rng: &rng, weightInit: tn)
        self.heads = heads
    }

    /// The relative position bias [h, L, L] for a sequence of L tokens (patch tokens,
    /// with or without the class token in front).
    func relativeBias(tokens l: Int) -> Tensor? {
        guard let table = relativePositionBiasTable, let index = relativeIndex else { return nil }
        let idx = index.indices(tokens: l)
        return table.embedding(idx).reshaped([l, l, heads]).permuted([2, 0, 1])
    }

    /// x [B, L, C] -> [B, L, C]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (l, c) = (x.shape[1], x.shape[2])
        let d = c / heads
        var bias = qkv.bias
        if let qBias, let vBias { bias = Tensor.concat([qBias, Tensor(zeros: [c]), vBias], axis: 0) }
        return proj(multiHeadAttention(qkv: x.linear(weight: qkv.weight, bias: bias), heads: heads,
                                       scale: 1 / Float(d).squareRoot(), bias: relativeBias(tokens: l)))
    }
}

/// Pre-norm transformer block: x + g1 * attn(norm1(x)), then x + g2 * mlp(norm2(x)).
public final class ViTBlock: Module {
    public let norm1: LayerNorm
    public let attn: ViTAttention
    // Named as BEiT's checkpoints name them (snake_case keeps `gamma1` as is).
    public let gamma_1: Tensor?
    public let norm2: LayerNorm
    public let mlp: MLP
    public let gamma_2: Tensor?
    public let dropPath: Float

    public init(_ config: ViTConfig, dropPath: Float, rng: inout RandomGenerator) {
        let w = config.width
        norm1 = LayerNorm(w, eps: 1e-6)
        attn = ViTAttention(width: w, heads: config.heads, bias: config.qkvBias,
                            relativePositionGrid: config.relativePositionBias ? config.grid : nil,
                            classToken: config.classToken, rng: &rng)
        norm2 = LayerNorm(w, eps: 1e-6)
        mlp = MLP(w, hidden: w * config.mlpRatio, activation: .gelu, rng: &rng, weightInit: Init.truncatedNormal(std: 0.02))
        gamma_1 = config.layerScale.map { parameter([w], constant: $0) }
        gamma_2 = config.layerScale.map { parameter([w], constant: $0) }
        self.dropPath = dropPath
    }

    /// `rows`: of the global batch (StochasticStream).
    public func callAsFunction(_ x: Tensor, rng: inout RandomGenerator, rows: BatchRows? = nil) -> Tensor {
        var a = attn(norm1(x))
        if let gamma_1 { a = a * gamma_1 }
        var h = x + a.dropPath(dropPath, training: isTraining, rng: &rng, rows: rows)
        var m = mlp(norm2(h))
        if let gamma_2 { m = m * gamma_2 }
        h = h + m.dropPath(dropPath, training: isTraining, rng: &rng, rows: rows)
        return h
    }
}

/// ViT / DeiT / BEiT / EVA backbone with a linear head.
public final class VisionTransformer: Module, TeacherModel, StochasticLayer {
    public let config: ViTConfig
    public let patchEmbed: PatchEmbed
    public let clsToken: Tensor?
    public let posEmbed: Tensor?
    public let blocks: [ViTBlock]
    public let norm: LayerNorm
    public let head: Linear
    /// Stream for stochastic depth (training only).
    private var _drops: StochasticStream

    public init(_ config: ViTConfig, rng: inout RandomGenerator) {
        self.config = config
        let tn = Init.truncatedNormal(std: 0.02)
        let w = config.width
        patchEmbed = PatchEmbed(inputChannels: config.inputChannels, width: w, patchSize: config.patchSize, rng: &rng)
        clsToken = config.classToken ? parameter([1, 1, w], tn, rng: &rng) : nil
        let positions = config.grid * config.grid + (config.classToken ? 1 : 0)
        posEmbed = config.absolutePositionEmbedding ? parameter([1, positions, w], tn, rng: &rng) : nil
        var blocks: [ViTBlock] = []
        for i in 0..<config.depth {
            let rate = stochasticDepthRate(config.dropPathRate, block: i, of: config.depth)
            blocks.append(ViTBlock(config, dropPath: rate, rng: &rng))
        }
        self.blocks = blocks
        norm = LayerNorm(w, eps: 1e-6)
        head = Linear(w, config.classes, rng: &rng, weightInit: tn)
        _drops = StochasticStream(&rng)
    }

    public var stageChannels: [Int] { Array(repeating: config.width, count: 4) }
    public var stageGrids: [Int] { Array(repeating: config.grid, count: 4) }

    /// Image [N, C, H, W] -> token sequence [N, L, C] (class token first, if any).
    public func embed(_ x: Tensor) -> Tensor {
        var t = patchEmbed(x)
        if let clsToken {
            let ones = Tensor(shape: [t.shape[0], 1, 1], repeating: 1)
            t = Tensor.concat([ones * clsToken, t], axis: 1)
        }
        if let posEmbed { t = t + posEmbed }
        return t
    }

    /// Patch tokens of [N, L, C] as the grid map [N, C, g, g] (class token dropped).
    func patchMap(_ t: Tensor) -> Tensor {
        let l = t.shape[1], patches = config.grid * config.grid
        return tokensToMap(l == patches ? t : t.sliced(axis: 1, (l - patches)..<l), grid: config.grid)
    }

    func logits(fromNormed t: Tensor) -> Tensor {
        switch config.pooling {
        case .classToken: return head(t.sliced(axis: 1, 0..<1).reshaped([t.shape[0], config.width]))
        case .average:
            let l = t.shape[1], patches = config.grid * config.grid
            let p = l == patches ? t : t.sliced(axis: 1, (l - patches)..<l)
            return head(p.mean(axis: 1))
        }
    }

    public func stageFeatures(_ x: Tensor) -> StageOutputs {
        var t = embed(x)
        let rows = _drops.rows
        var stages: [Tensor] = []
        let ends = config.stageEnds
        for (i, block) in blocks.enumerated() {
            t = block(t, rng: &_drops.rng, rows: rows)
            if i + 1 == ends[3] { t = norm(t) }
            if ends.contains(i + 1) { stages.append(patchMap(t)) }
        }
        return StageOutputs(stages: stages, logits: logits(fromNormed: t))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var t = embed(x)
        let rows = _drops.rows
        for block in blocks { t = block(t, rng: &_drops.rng, rows: rows) }
        return logits(fromNormed: norm(t))
    }

    /// The last `perceptionBlocks` blocks (default depth/4) and the final norm on a
    /// stage-3 map [N, C, g, g].
    ///
    /// The map holds patch tokens only (as does the ScaleKD projector's output that
    /// TPP feeds in), so the blocks run without a class token. For a model without a
    /// class token (the mini teachers) this equals stage 4 of `stageFeatures`
    /// exactly; with one (the paper-size EVA teacher) it is what the authors' code
    /// computes, which differs from the teacher's own stage 4 by the class token's
    /// contribution to attention.
    public func forwardLastStage(_ stage3: Tensor) -> Tensor {
        var t = mapToTokens(stage3)
        let rows = _drops.rows
        for block in blocks[config.perceptionStart...] { t = block(t, rng: &_drops.rng, rows: rows) }
        return tokensToMap(norm(t), grid: config.grid)
    }
}

// MARK: - Presets

public enum ViT {
    static func preset(_ name: String, _ config: ViTConfig, scale: ModelScale, paperParamsM: Double? = nil,
                       paperGFLOPs: Double? = nil, family: String = "ViT", isTeacher: Bool = false) -> ModelPreset {
        ModelPreset(name: name, family: family, scale: scale, inputSize: config.imageSize,
                    inputChannels: config.inputChannels, classes: config.classes, paperParamsM: paperParamsM,
                    paperGFLOPs: paperGFLOPs, isTeacher: isTeacher) { rng in VisionTransformer(config, rng: &rng) }
    }

    /// Paper students (DeiT layout as mmcls builds it: class token in the sequence,
    /// absolute positions, fused qkv bias). Logits by GAP over the patch tokens, as
    /// the authors' patched backbone (with_cls_token=False + GAP head) does; the class
    /// token only changes the count by `width` parameters.
    public static func paper(patch: Int, width: Int, heads: Int) -> ViTConfig {
        ViTConfig(imageSize: 224, inputChannels: 3, classes: 1000, patchSize: patch, width: width, depth: 12,
                  heads: heads, classToken: true, pooling: .average)
    }

    /// Mini students: 32x32x1, patch 4 -> 8x8 grid, no class token, GAP head.
    /// Depth 4 (one block per stage): on this engine a training step of a small ViT
    /// is bound by per-op overhead (attention elementwise work grows with heads x
    /// depth, not width), so wide-and-shallow reaches the student speed guide.
    /// S and B share the depth and differ in width, as ViT-S/B do.
    public static func mini(width: Int, depth: Int, heads: Int) -> ViTConfig {
        ViTConfig(imageSize: 32, inputChannels: 1, classes: 10, patchSize: 4, width: width, depth: depth,
                  heads: heads, classToken: false, pooling: .average)
    }

    public static let presets: [ModelPreset] = [
        preset("vit-s16", paper(patch: 16, width: 384, heads: 6), scale: .paper, paperParamsM: 22.05, paperGFLOPs: 4.61),
        preset("vit-b16", paper(patch: 16, width: 768, heads: 12), scale: .paper, paperParamsM: 86.57, paperGFLOPs: 17.58),
        preset("vit-b14", paper(patch: 14, width: 768, heads: 12), scale: .paper, paperParamsM: 86.57, paperGFLOPs: 23.09),
        preset("vit-mini-s", mini(width: 48, depth: 4, heads: 2), scale: .mini),
        preset("vit-mini-b", mini(width: 80, depth: 4, heads: 2), scale: .mini),
    ]
}

extension VisionTransformer {
    public func restartStream(seed: UInt64, step: Int, rows: BatchRows?) { _drops.restart(seed: seed, step: step, rows: rows) }
}

/// BEiT's relative position index: which row of `relative_position_bias_table`
/// biases the logit of query token i attending to key token j.
///
/// Patch tokens on a g x g grid share a row per 2-D offset, (2g-1)^2 rows. With a
/// class token (timm/BEiT layout) three more rows follow: class->patch, patch->class
/// and class->class, and the class token is token 0 of the sequence.
public struct RelativePositionIndex: Sendable {
    public let grid: Int
    public let classToken: Bool

    public init(grid: Int, classToken: Bool) { self.grid = grid; self.classToken = classToken }

    public var offsets: Int { (2 * grid - 1) * (2 * grid - 1) }
    public var tableSize: Int { offsets + (classToken ? 3 : 0) }

    /// Row of the 2-D offset between patch tokens a and b (row-major on the grid).
    public func patchIndex(_ a: Int, _ b: Int) -> Int {
        let g = grid
        let dy = a / g - b / g + g - 1, dx = a % g - b % g + g - 1
        return dy * (2 * g - 1) + dx
    }

    /// Flat [L * L] table rows for a sequence of L tokens: g*g patch tokens, or the
    /// class token followed by them. A sequence of patch tokens only (TPP feeds one)
    /// uses the patch-to-patch rows of the same table.
    public func indices(tokens l: Int) -> [Int] {
        let p = grid * grid
        precondition(l == p || (classToken && l == p + 1), "\(l) tokens for a \(grid)x\(grid) grid")
        let c = l - p  // 1 if the class token leads
        var out = [Int](repeating: 0, count: l * l)
        for i in 0..<l {
            for j in 0..<l {
                let v: Int
                if i >= c && j >= c { v = patchIndex(i - c, j - c) }
                else if i < c && j < c { v = offsets + 2 }
                else if i < c { v = offsets }       // class token queries a patch
                else { v = offsets + 1 }            // a patch queries the class token
                out[i * l + j] = v
            }
        }
        return out
    }
}

/// The ScaleKD teacher "BEiT-L/14" and the mini BEiT-style teacher.
public enum BEiT {
    /// The paper's BEiT-L/14 row (304.14M, 81.06G) is the mmcls checkpoint
    /// eva-l-p14_mim-in21k-pre_3rdparty_in1k-196px (EVA-L/14): 304,142,312 parameters,
    /// which this configuration reproduces exactly at 196 px. Its layout is that of a
    /// plain ViT-L/14: absolute position embedding, class token, fused qkv bias, no
    /// relative position bias, no layer scale, mean-pooled head. At the 224 px the
    /// authors run it at, the position table grows to 16x16+1 rows: 304,203,752.
    /// (A BEiT-L/14 with rel-pos tables, layer scale and q/v biases would count
    /// 304,335,336; also within 0.5%, but it is not the checkpoint the authors used.)
    ///
    /// Stages and TPP as the authors' patched backbone runs this teacher (their BEiT class,
    /// which mmcls's EVA-L config builds; lusilili/UFD-KD, the authors' development
    /// repository, mmcls/models/backbones/beit.py): stage outputs after 0-based blocks
    /// 8, 12, 16 and 23 (`BEiT.forward`: `index = [8,12,16,23]`), and TPP through blocks
    /// 22 and 23 (`BEiT.forward_specific_stage(x, 4)`: `for i in range(22,24)`), called by
    /// ClassificationDistiller.loss (deep-optimization/ScaleKD
    /// mmcls/models/classifiers/distiller.py, `forward_specific_stage(feat_S_s3_spat, 4)`).
    /// So TPP starts at block 22 although stage 3 is tapped after block 16. Both end with
    /// this model's final norm.
    public static func evaLarge14(imageSize: Int) -> ViTConfig {
        ViTConfig(imageSize: imageSize, inputChannels: 3, classes: 1000, patchSize: 14, width: 1024, depth: 24,
                  heads: 16, classToken: true, pooling: .average, absolutePositionEmbedding: true,
                  relativePositionBias: false, layerScale: nil, qkvBias: .qkv,
                  tappedBlocks: [8, 12, 16, 23], perceptionBlocks: 2)
    }

    /// Mini BEiT-style teacher: 32x32x1, patch 4 -> 8x8 grid, relative position bias
    /// per block, layer scale 0.1, q/v biases, drop path 0.1 (the teachers' recipe), no class token and a GAP head (so
    /// `forwardLastStage` reproduces stage 4 exactly). Width 128, depth 8: 1.60M
    /// parameters, at least 5x every ViT/Mixer mini student (largest 0.319M).
    public static func mini(width: Int, depth: Int, heads: Int) -> ViTConfig {
        ViTConfig(imageSize: 32, inputChannels: 1, classes: 10, patchSize: 4, width: width, depth: depth,
                  heads: heads, classToken: false, pooling: .average, absolutePositionEmbedding: false,
                  relativePositionBias: true, layerScale: 0.1, qkvBias: .qv, dropPathRate: 0.1)
    }

    public static let presets: [ModelPreset] = [
        ViT.preset("beit-l14", evaLarge14(imageSize: 224), scale: .paper, paperParamsM: 304.14, paperGFLOPs: 81.06,
                   family: "BEiT", isTeacher: true),
        ViT.preset("vit-mini-l", mini(width: 128, depth: 8, heads: 4), scale: .mini, family: "BEiT", isTeacher: true),
    ]
}
