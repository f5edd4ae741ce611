import NN
import Tensor

/// ConvNeXt (Liu et al. 2022) in timm's layout and names: `stem.0` conv + `stem.1` LayerNorm2d,
/// `stages.i.downsample.0` LayerNorm2d + `.1` 2x2 stride-2 conv (stages 1-3), blocks
/// `stages.i.blocks.j.{conv_dw, norm, mlp.fc1, mlp.fc2, gamma}`, `head.norm` + `head.fc` after
/// global average pooling. Stage i's output is the output of `stages.i` (before the head norm).
///
/// Everything after the stem conv runs channels-last, [N, H, W, C]: the blocks' layer norm and
/// MLP want channels last, and a channels-last depthwise conv and 2x2 downsample (a linear
/// over each 2x2 patch) remove the NCHW <-> NHWC copies of timm's layout (PyTorch gets them
/// free as strided views). Parameters, their layout and the function computed are timm's;
/// stage outputs are handed out NCHW like every other family's.
public final class ConvNeXt: Module, ImageClassifier {
    public struct Config: Sendable {
        public var depths: [Int]
        public var dims: [Int]
        /// Depthwise kernel of the blocks (7 in the paper).
        public var kernel: Int
        /// Stem conv kernel and stride (4 and 4, "patchify", in the paper); padding (k - s) / 2.
        public var stemKernel: Int
        public var stemStride: Int
        /// Stochastic depth, rising linearly from 0 over the blocks to this rate.
        public var dropPathRate: Float
        /// Layer scale gamma's initial value.
        public var layerScaleInit: Float
        public var inputSize: Int
        public var inputChannels: Int
        public var classes: Int

        public init(depths: [Int], dims: [Int], kernel: Int = 7, stemKernel: Int = 4, stemStride: Int = 4,
                    dropPathRate: Float = 0, layerScaleInit: Float = 1e-6, inputSize: Int = 224,
                    inputChannels: Int = 3, classes: Int = 1000) {
            precondition(depths.count == 4 && dims.count == 4, "ConvNeXt needs four stages")
            self.depths = depths; self.dims = dims; self.kernel = kernel; self.stemKernel = stemKernel
            self.stemStride = stemStride; self.dropPathRate = dropPathRate; self.layerScaleInit = layerScaleInit
            self.inputSize = inputSize; self.inputChannels = inputChannels; self.classes = classes
        }
    }

    public let stem: [Module]
    public let stages: [ConvNeXtStage]
    public let head: ConvNeXtHead
    public let config: Config
    private let _stemConv: Conv2d
    private let _stemNorm: LayerNorm

    public init(_ config: Config, rng: inout RandomGenerator) {
        self.config = config
        let std = Init.truncatedNormal(std: 0.02)
        _stemConv = Conv2d(config.inputChannels, config.dims[0], kernel: config.stemKernel, stride: config.stemStride,
                           padding: (config.stemKernel - config.stemStride) / 2, rng: &rng, weightInit: std)
        _stemNorm = LayerNorm(config.dims[0], eps: 1e-6)  // LayerNorm2d, applied channels-last
        stem = [_stemConv, _stemNorm]
        let total = config.depths.reduce(0, +)
        var stages: [ConvNeXtStage] = [], blockIndex = 0
        for i in 0..<4 {
            let rates = (0..<config.depths[i]).map { j -> Float in
                stochasticDepthRate(config.dropPathRate, block: blockIndex + j, of: total)
            }
            stages.append(ConvNeXtStage(i == 0 ? nil : config.dims[i - 1], config.dims[i], dropPathRates: rates,
                                        kernel: config.kernel, layerScaleInit: config.layerScaleInit, rng: &rng))
            blockIndex += config.depths[i]
        }
        self.stages = stages
        head = ConvNeXtHead(config.dims[3], config.classes, rng: &rng)
    }

    public var stageChannels: [Int] { config.dims }

    public var stageGrids: [Int] {
        let first = (config.inputSize + 2 * ((config.stemKernel - config.stemStride) / 2) - config.stemKernel) / config.stemStride + 1
        return [first, first / 2, first / 4, first / 8]
    }

    public func stageFeatures(_ x: Tensor) -> StageOutputs { forward(x, keepStages: true) }

    /// Logits alone skip the stage outputs' copies to NCHW.
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, keepStages: false).logits }

    private func forward(_ x: Tensor, keepStages: Bool) -> StageOutputs {
        var h = _stemNorm(_stemConv(x).permuted([0, 2, 3, 1])), outs: [Tensor] = []
        for stage in stages {
            h = stage(h)
            if keepStages { outs.append(h.permuted([0, 3, 1, 2])) }
        }
        return StageOutputs(stages: outs, logits: head(h))
    }
}

/// An optional downsample (LayerNorm2d + 2x2 stride-2 conv) and the stage's blocks, on
/// channels-last input and output [N, H, W, C].
public final class ConvNeXtStage: Module {
    public let downsample: [Module]?
    public let blocks: [ConvNeXtBlock]
    private let _downsample: (LayerNorm, Conv2d)?

    public init(_ inDim: Int?, _ dim: Int, dropPathRates: [Float], kernel: Int, layerScaleInit: Float,
         rng: inout RandomGenerator) {
        if let inDim {
            _downsample = (LayerNorm(inDim, eps: 1e-6),  // LayerNorm2d, applied channels-last
                           Conv2d(inDim, dim, kernel: 2, stride: 2, rng: &rng, weightInit: Init.truncatedNormal(std: 0.02)))
        } else {
            _downsample = nil
        }
        downsample = _downsample.map { [$0.0, $0.1] }
        var blocks: [ConvNeXtBlock] = []
        for rate in dropPathRates {
            blocks.append(ConvNeXtBlock(dim, kernel: kernel, dropPath: rate, layerScaleInit: layerScaleInit, rng: &rng))
        }
        self.blocks = blocks
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = _downsample.map { ConvNeXtStage.patchConv($0.1, $0.0(x)) } ?? x
        for block in blocks { h = block(h) }
        return h
    }

    /// The 2x2 stride-2 conv on channels-last x: each 2x2 patch's channels laid side by side
    /// ([ky][kx][C]) times the conv weight read in the same order, a single linear.
    static func patchConv(_ conv: Conv2d, _ x: Tensor) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), cout = conv.weight.shape[0]
        precondition(h % 2 == 0 && w % 2 == 0, "ConvNeXt downsample: the grid \(h)x\(w) must be even")
        let patches = x.reshaped([n, h / 2, 2, w / 2, 2, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([n, h / 2, w / 2, 4 * c])
        return patches.linear(weight: conv.weight.permuted([0, 2, 3, 1]).reshaped([cout, 4 * c]), bias: conv.bias)
    }
}

/// x + drop_path(gamma * MLP(LN(dwconv(x)))), the MLP 4x wide with GELU, all channels-last
/// [N, H, W, C] (timm permutes around the depthwise conv; the function is the same).
public final class ConvNeXtBlock: Module, StochasticLayer {
    public let convDw: Conv2d
    public let norm: LayerNorm
    public let mlp: MLP
    public let gamma: Tensor
    public let dropPath: Float
    /// Stochastic depth draws, restarted per training step (StochasticStream).
    private var _drops: StochasticStream

    public init(_ dim: Int, kernel: Int, dropPath: Float, layerScaleInit: Float, rng: inout RandomGenerator) {
        let std = Init.truncatedNormal(std: 0.02)
        convDw = Conv2d(dim, dim, kernel: kernel, padding: kernel / 2, groups: dim, rng: &rng, weightInit: std)
        norm = LayerNorm(dim, eps: 1e-6)
        mlp = MLP(dim, hidden: 4 * dim, activation: .gelu, rng: &rng, weightInit: std)
        gamma = parameter([dim], constant: layerScaleInit)
        self.dropPath = dropPath
        _drops = StochasticStream(&rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = mlp(norm(x.depthwiseConv2dChannelsLast(weight: convDw.weight, bias: convDw.bias))) * gamma
        let rows = _drops.rows
        return x + y.dropPath(dropPath, training: isTraining, rng: &_drops.rng, rows: rows)
    }
}

/// timm's head after the stages: global average pool, LayerNorm, linear classifier.
public final class ConvNeXtHead: Module {
    public let norm: LayerNorm
    public let fc: Linear

    init(_ dim: Int, _ classes: Int, rng: inout RandomGenerator) {
        norm = LayerNorm(dim, eps: 1e-6)
        fc = Linear(dim, classes, rng: &rng, weightInit: Init.truncatedNormal(std: 0.02))
    }

    /// x: the last stage's output, channels-last [N, H, W, C].
    public func callAsFunction(_ x: Tensor) -> Tensor { fc(norm(x.mean(axes: [1, 2]))) }
}

extension ConvNeXt {
    public static var presets: [ModelPreset] {
        [
            // Drop path 0.1 as the authors' convnext-tiny config; it does not change the counts.
            ModelPreset(name: "convnext-t", family: "convnext", scale: .paper, inputSize: 224,
                        paperParamsM: 28.59, paperGFLOPs: 4.46) { rng in
                ConvNeXt(Config(depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], dropPathRate: 0.1), rng: &rng)
            },
            ModelPreset(name: "convnext-mini", family: "convnext", scale: .mini, inputSize: 32, inputChannels: 1,
                        classes: 10) { rng in
                ConvNeXt(miniConfig, rng: &rng)
            },
        ]
    }

    /// The student of the small scale: a 3x3 stride-1 stem (grids 32/16/8/4 on 32 px), 3x3
    /// depthwise kernels (a 7x7 would cover most of the 8x8 and 4x4 grids; 5x5 costs 1.15x
    /// the training time for no structural gain), narrow stages.
    public static var miniConfig: Config {
        Config(depths: [1, 1, 2, 1], dims: [16, 32, 64, 128], kernel: 3, stemKernel: 3, stemStride: 1,
               dropPathRate: 0.1, inputSize: 32, inputChannels: 1, classes: 10)
    }
}

extension ConvNeXtBlock {
    public func restartStream(seed: UInt64, step: Int, rows: BatchRows?) { _drops.restart(seed: seed, step: step, rows: rows) }
}
