import NN
import Tensor

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
