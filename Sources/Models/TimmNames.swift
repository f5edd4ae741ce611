import Foundation
import NN
import Store
import Tensor

// timm (PyTorch Image Models) state_dict names for the zoo's models, and a loader and
// saver through them.
//
// Layouts: every module stores its tensors as PyTorch does (Linear weight [out, in], conv
// weight [out, in / groups, kh, kw], BatchNorm running_mean / running_var as buffers, the
// fused qkv weight [3C, C] in q, k, v order, relative position tables [rows, heads] in
// timm's row order, position embedding [1, L, C] with the class token's row first), so a
// tensor moves between the two without a transform; only names differ, in two families:
//
//   ViT (timm VisionTransformer)  blocks.N.gamma_1 / gamma_2  <-> blocks.N.ls1.gamma / ls2.gamma
//   MobileNet-V1 (timm mobilenetv1_*, an EfficientNet)
//                                 model.0.0 / model.0.1        <-> conv_stem / bn1
//                                 model.K.0 / .1 / .3 / .4      <-> blocks.S.J.conv_dw / bn1 / conv_pw / bn2
//                                 head.fc                       <-> classifier
//
// ResNet, BEiT (timm Beit), Swin (timm >= 0.9 layout), ConvNeXt and MLP-Mixer already carry
// timm's names. Integer buffers (num_batches_tracked, relative_position_index) are not
// read (SafeTensors.readSkippingIntegers) and not written: the models compute their own
// indices, and PyTorch's BatchNorm fills in a missing num_batches_tracked.
//
// What each zoo configuration pairs with in timm (constructor arguments beyond the sizes):
//   ResNet        ResNet(block, layers = depths, channels = widths); ImageNet stem, widths[0] = 64 (timm's stem width)
//   ViT           VisionTransformer(class_token:, pos_embed: 'learn' or 'none', qkv_bias:, init_values: layer scale,
//                 global_pool: 'token' (class-token pooling) or 'avg' with fc_norm=False (mean pooling))
//   BEiT          Beit(use_abs_pos_emb:, use_rel_pos_bias:, init_values:, qkv_bias: (q/v biases),
//                 global_pool: as ViT, with use_fc_norm=False); timm's Beit always has a class token
//   Swin          SwinTransformer(patch_size = kernel = stride, window_size, embed_dim, depths, num_heads)
//   ConvNeXt      ConvNeXt(depths, dims, kernel_sizes, patch_size = stem kernel = stem stride, ls_init_value)
//   MLP-Mixer     MlpMixer(patch_size, embed_dim, num_blocks, mlp_ratio = (tokensHidden, channelsHidden) / width)
//   MobileNet-V1  efficientnet._gen_mobilenet_v1(channel_multiplier, act_layer='relu'); timm's default is ReLU6,
//                 which the zoo's model does not have
// Each model's mean pooling is taken after the final norm; timm's default 'avg' heads for
// ViT and BEiT norm after pooling (fc_norm), a function these models do not compute.

/// A zoo model (configuration) that no timm model computes.
public struct TimmUnsupportedError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public let model: String
    public let reason: String

    public var description: String { "\(model) has no timm counterpart: \(reason)" }
    public var errorDescription: String? { description }
}

public enum Timm {
    /// The timm class a zoo model pairs with.
    public enum Architecture: String, Sendable {
        case resnet = "timm.models.resnet.ResNet"
        case visionTransformer = "timm.models.vision_transformer.VisionTransformer"
        case beit = "timm.models.beit.Beit"
        case swin = "timm.models.swin_transformer.SwinTransformer"
        case convnext = "timm.models.convnext.ConvNeXt"
        case mlpMixer = "timm.models.mlp_mixer.MlpMixer"
        /// mobilenetv1_* (timm.models.efficientnet._gen_mobilenet_v1).
        case mobileNetV1 = "timm.models.efficientnet.EfficientNet"
    }

    /// One tensor (parameter or buffer) of a model under its own name and under timm's.
    public struct Entry {
        public let name: String
        public let timmName: String
        public let tensor: Tensor
    }

    /// The timm class `model` pairs with; throws if its configuration computes what no
    /// timm model does (the checks below name the difference).
    public static func architecture(of model: Module) throws -> Architecture {
        func unsupported(_ reason: String) -> TimmUnsupportedError {
            TimmUnsupportedError(model: "\(type(of: model))", reason: reason)
        }
        switch model {
        case let m as ResNet:
            guard m.config.stem == .imagenet else {
                throw unsupported("the CIFAR stem (3x3 stride-1 conv, no max-pool); timm's ResNet stems all downsample by 4")
            }
            guard m.config.widths[0] == 64 else {
                throw unsupported("timm's 7x7 stem is 64 wide (stem_width sizes only its deep stems); this config's stem "
                    + "is widths[0] = \(m.config.widths[0]) wide")
            }
            return .resnet
        case let m as VisionTransformer:
            let c = m.config
            guard c.relativePositionBias || c.qkvBias == .qv else { return .visionTransformer }
            guard c.classToken else {
                throw unsupported("timm's Beit (relative position bias, q/v biases) always has a class token, "
                    + "and its relative position table 3 class-token rows; this config has no class token")
            }
            guard c.qkvBias != .qkv else {
                throw unsupported("timm's Beit has separate q/v biases or none, not a fused qkv bias")
            }
            return .beit
        case let m as SwinTransformer:
            let c = m.config
            guard c.patchKernel == c.patchStride && c.patchPadding == 0 else {
                throw unsupported("timm's patch embedding is a kernel = stride conv without padding; this config has "
                    + "kernel \(c.patchKernel), stride \(c.patchStride), padding \(c.patchPadding)")
            }
            return .swin
        case let m as ConvNeXt:
            let c = m.config
            guard c.stemKernel == c.stemStride else {
                throw unsupported("timm's patchify stem is a kernel = stride conv; this config has kernel \(c.stemKernel), "
                    + "stride \(c.stemStride)")
            }
            return .convnext
        case is MLPMixer:
            return .mlpMixer
        case let m as MobileNetV1:
            _ = try mobileNetStages(m.config).get()
            return .mobileNetV1
        default:
            throw unsupported("no timm name map for this model")
        }
    }

    /// Every tensor of `model` (namedTensors order) with its timm name.
    public static func entries(of model: Module) throws -> [Entry] {
        let rename: (String) -> String
        switch try architecture(of: model) {
        case .visionTransformer:
            rename = { name in
                for (ours, theirs) in [(".gamma_1", ".ls1.gamma"), (".gamma_2", ".ls2.gamma")] where name.hasSuffix(ours) {
                    return String(name.dropLast(ours.count)) + theirs
                }
                return name
            }
        case .mobileNetV1:
            let prefixes = mobileNetPrefixes((model as! MobileNetV1).config)
            rename = { name in
                // "model.K.I.leaf" or "head.fc.leaf": everything up to the last dot is the module.
                guard let dot = name.lastIndex(of: "."), let module = prefixes[String(name[..<dot])] else { return name }
                return module + name[dot...]
            }
        case .resnet, .beit, .swin, .convnext, .mlpMixer:
            rename = { $0 }
        }
        return model.namedTensors().map { Entry(name: $0.0, timmName: rename($0.0), tensor: $0.1) }
    }

    /// Copies a timm state_dict (float tensors; integer buffers already left out) into
    /// `model`. Nothing is copied unless every tensor matches: one error lists each missing,
    /// unexpected and mis-shaped tensor (`SafeTensorsError.tensorMismatch`, naming `source`).
    public static func load(_ tensors: [String: NamedArray], into model: Module, source: String = "timm state_dict") throws {
        let entries = try entries(of: model)
        try SafeTensors.match(tensors, expected: entries.map { ($0.timmName, $0.tensor.shape) }, path: source)
        for entry in entries where entry.tensor.count > 0 {
            tensors[entry.timmName]!.values.withUnsafeBufferPointer {
                entry.tensor.pointer.update(from: $0.baseAddress!, count: entry.tensor.count)
            }
        }
    }

    /// Reads a timm safetensors checkpoint and loads it; returns the integer tensors it
    /// skipped (name -> dtype).
    @discardableResult
    public static func load(path: String, into model: Module) throws -> [String: String] {
        let file = try SafeTensors.readSkippingIntegers(path: path)
        try load(file.tensors, into: model, source: path)
        return file.skipped
    }

    /// The model's state under timm's names (float tensors only).
    public static func stateDict(of model: Module) throws -> [String: NamedArray] {
        var out = [String: NamedArray]()
        for entry in try entries(of: model) {
            out[entry.timmName] = NamedArray(shape: entry.tensor.shape, values: entry.tensor.values)
        }
        return out
    }

    /// Writes `stateDict(of: model)` as safetensors ("format": "pt" in the metadata, as
    /// PyTorch-side writers mark their files).
    public static func save(_ model: Module, to path: String, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(stateDict(of: model), metadata: metadata.merging(["format": "pt"]) { ours, _ in ours }, to: path)
    }

    // MARK: MobileNet-V1

    /// timm's block index (stage S, block J) of each separable unit K = 1..n-1: a stage
    /// starts at unit 1 and at every stride-2 unit after it (timm's arch rows
    /// dsa_r1_s1, dsa_r2_s2, ...), behind a stride-2 stem.
    static func mobileNetStages(_ config: MobileNetV1.Config) -> Result<[(stage: Int, block: Int)], TimmUnsupportedError> {
        let units = config.units
        func unsupported(_ reason: String) -> Result<[(stage: Int, block: Int)], TimmUnsupportedError> {
            .failure(TimmUnsupportedError(model: "MobileNetV1", reason: reason))
        }
        guard units.count >= 2, units[0].stride == 2 else {
            return unsupported("timm's stem conv has stride 2; this config's has \(units[0].stride)")
        }
        guard units[1].stride == 1 else { return unsupported("timm's first separable unit has stride 1") }
        var out: [(stage: Int, block: Int)] = [(0, 0)]
        for k in 2..<units.count {
            guard units[k].stride == 1 || units[k].stride == 2 else { return unsupported("unit \(k) has stride \(units[k].stride)") }
            let last = out[out.count - 1]
            out.append(units[k].stride == 2 ? (last.stage + 1, 0) : (last.stage, last.block + 1))
        }
        return .success(out)
    }

    /// Our module prefix -> timm's, for every module holding tensors.
    static func mobileNetPrefixes(_ config: MobileNetV1.Config) -> [String: String] {
        var map = ["model.0.0": "conv_stem", "model.0.1": "bn1", "head.fc": "classifier"]
        guard case let .success(stages) = mobileNetStages(config) else { return map }
        for (i, position) in stages.enumerated() {
            let ours = "model.\(i + 1)", theirs = "blocks.\(position.stage).\(position.block)"
            for (index, name) in [("0", "conv_dw"), ("1", "bn1"), ("3", "conv_pw"), ("4", "bn2")] {
                map["\(ours).\(index)"] = "\(theirs).\(name)"
            }
        }
        return map
    }
}

/// Loads a timm state_dict into a zoo model (`Timm.load`).
public func loadTimm(_ tensors: [String: NamedArray], into model: Module) throws {
    try Timm.load(tensors, into: model)
}
