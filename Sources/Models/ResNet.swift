import NN
import Tensor

/// ResNet (He et al. 2016) in torchvision's layout and names: `conv1`, `bn1`, `layer1`..`layer4`
/// of residual blocks (`layer1.0.conv1`, `layer2.0.downsample.0`/`.1`), `fc`. Bottleneck blocks
/// stride in their 3x3 conv (ResNet v1.5, as torchvision). Stage i = `layer{i}`.
public final class ResNet: Module, ImageClassifier {
    public struct Config: Sendable {
        public enum Block: Sendable { case basic, bottleneck }
        /// ImageNet: 7x7 stride-2 conv + 3x3 stride-2 max-pool (grids input/4 .. input/32).
        /// CIFAR: 3x3 stride-1 conv, no pool (grids input .. input/8).
        public enum Stem: Sendable { case imagenet, cifar }

        public var block: Block
        public var depths: [Int]
        /// Inner widths of the four stages ("planes"); bottleneck outputs are 4x.
        public var widths: [Int]
        public var stem: Stem
        public var inputSize: Int
        public var inputChannels: Int
        public var classes: Int

        public init(block: Block, depths: [Int], widths: [Int] = [64, 128, 256, 512], stem: Stem = .imagenet,
                    inputSize: Int = 224, inputChannels: Int = 3, classes: Int = 1000) {
            precondition(depths.count == 4 && widths.count == 4, "ResNet needs four stages")
            self.block = block; self.depths = depths; self.widths = widths; self.stem = stem
            self.inputSize = inputSize; self.inputChannels = inputChannels; self.classes = classes
        }

        var expansion: Int { block == .basic ? 1 : 4 }
    }

    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let layer1: [ResNetBlock]
    public let layer2: [ResNetBlock]
    public let layer3: [ResNetBlock]
    public let layer4: [ResNetBlock]
    public let fc: Linear
    public let config: Config

    public init(_ config: Config, rng: inout RandomGenerator) {
        self.config = config
        let stemWidth = config.widths[0]
        if config.stem == .imagenet {
            conv1 = Conv2d(config.inputChannels, stemWidth, kernel: 7, stride: 2, padding: 3, bias: false, rng: &rng,
                           weightInit: Init.kaimingNormalFanOut(stemWidth * 49))
        } else {
            conv1 = Conv2d(config.inputChannels, stemWidth, kernel: 3, stride: 1, padding: 1, bias: false, rng: &rng,
                           weightInit: Init.kaimingNormalFanOut(stemWidth * 9))
        }
        bn1 = BatchNorm2d(stemWidth)
        var inChannels = stemWidth
        var layers: [[ResNetBlock]] = []
        for stage in 0..<4 {
            var blocks: [ResNetBlock] = []
            for i in 0..<config.depths[stage] {
                let stride = stage > 0 && i == 0 ? 2 : 1
                let planes = config.widths[stage]
                switch config.block {
                case .basic: blocks.append(BasicBlock(inChannels, planes, stride: stride, rng: &rng))
                case .bottleneck: blocks.append(Bottleneck(inChannels, planes, stride: stride, rng: &rng))
                }
                inChannels = planes * config.expansion
            }
            layers.append(blocks)
        }
        (layer1, layer2, layer3, layer4) = (layers[0], layers[1], layers[2], layers[3])
        fc = Linear(inChannels, config.classes, rng: &rng)  // PyTorch's default Linear init, as torchvision.
    }

    public var stageChannels: [Int] { config.widths.map { $0 * config.expansion } }

    public var stageGrids: [Int] {
        let first = config.stem == .imagenet ? config.inputSize / 4 : config.inputSize
        return [first, first / 2, first / 4, first / 8]
    }

    public func stageFeatures(_ x: Tensor) -> StageOutputs {
        var h = bn1(conv1(x)).relu()
        if config.stem == .imagenet { h = h.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        var stages: [Tensor] = []
        for layer in [layer1, layer2, layer3, layer4] {
            for block in layer { h = block(h) }
            stages.append(h)
        }
        return StageOutputs(stages: stages, logits: fc(h.mean(axes: [2, 3])))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { stageFeatures(x).logits }
}

/// A residual block of either kind.
public protocol ResNetBlock: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// torchvision's conv-free identity or 1x1-conv + BN projection shortcut, as the
/// `downsample` Sequential (`downsample.0` conv, `downsample.1` BN).
private func projection(_ inChannels: Int, _ outChannels: Int, stride: Int,
                        rng: inout RandomGenerator) -> (Conv2d, BatchNorm2d)? {
    guard stride != 1 || inChannels != outChannels else { return nil }
    return (Conv2d(inChannels, outChannels, kernel: 1, stride: stride, bias: false, rng: &rng,
                   weightInit: Init.kaimingNormalFanOut(outChannels)), BatchNorm2d(outChannels))
}

/// Two 3x3 convs (ResNet-18/34).
public final class BasicBlock: Module, ResNetBlock {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public let downsample: [Module]?
    private let _shortcut: (Conv2d, BatchNorm2d)?

    public init(_ inChannels: Int, _ planes: Int, stride: Int, rng: inout RandomGenerator) {
        conv1 = Conv2d(inChannels, planes, kernel: 3, stride: stride, padding: 1, bias: false, rng: &rng,
                       weightInit: Init.kaimingNormalFanOut(planes * 9))
        bn1 = BatchNorm2d(planes)
        conv2 = Conv2d(planes, planes, kernel: 3, padding: 1, bias: false, rng: &rng,
                       weightInit: Init.kaimingNormalFanOut(planes * 9))
        bn2 = BatchNorm2d(planes)
        _shortcut = projection(inChannels, planes, stride: stride, rng: &rng)
        downsample = _shortcut.map { [$0.0, $0.1] }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let out = bn2(conv2(bn1(conv1(x)).relu()))
        let identity = _shortcut.map { $0.1($0.0(x)) } ?? x
        return (out + identity).relu()
    }
}

/// 1x1 reduce, 3x3 (strided), 1x1 expand by 4 (ResNet-50/101/152).
public final class Bottleneck: Module, ResNetBlock {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public let conv3: Conv2d
    public let bn3: BatchNorm2d
    public let downsample: [Module]?
    private let _shortcut: (Conv2d, BatchNorm2d)?

    public init(_ inChannels: Int, _ planes: Int, stride: Int, rng: inout RandomGenerator) {
        let out = planes * 4
        conv1 = Conv2d(inChannels, planes, kernel: 1, bias: false, rng: &rng, weightInit: Init.kaimingNormalFanOut(planes))
        bn1 = BatchNorm2d(planes)
        conv2 = Conv2d(planes, planes, kernel: 3, stride: stride, padding: 1, bias: false, rng: &rng,
                       weightInit: Init.kaimingNormalFanOut(planes * 9))
        bn2 = BatchNorm2d(planes)
        conv3 = Conv2d(planes, out, kernel: 1, bias: false, rng: &rng, weightInit: Init.kaimingNormalFanOut(out))
        bn3 = BatchNorm2d(out)
        _shortcut = projection(inChannels, out, stride: stride, rng: &rng)
        downsample = _shortcut.map { [$0.0, $0.1] }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = bn2(conv2(bn1(conv1(x)).relu())).relu()
        let out = bn3(conv3(h))
        let identity = _shortcut.map { $0.1($0.0(x)) } ?? x
        return (out + identity).relu()
    }
}

extension ResNet {
    public static var presets: [ModelPreset] {
        func paper(_ name: String, _ block: Config.Block, _ depths: [Int], params: Double?, gflops: Double?) -> ModelPreset {
            ModelPreset(name: name, family: "resnet", scale: .paper, inputSize: 224,
                        paperParamsM: params, paperGFLOPs: gflops) { rng in
                ResNet(Config(block: block, depths: depths), rng: &rng)
            }
        }
        return [
            // ResNet-18 is not in the paper's tables: no published figures (see the tests for torchvision's).
            paper("resnet18", .basic, [2, 2, 2, 2], params: nil, gflops: nil),
            paper("resnet50", .bottleneck, [3, 4, 6, 3], params: 25.56, gflops: 4.12),
            // Params only: the paper's "2.35x smaller" claim pairs ResNet-50 with ResNet-152.
            paper("resnet152", .bottleneck, [3, 8, 36, 3], params: 60.19, gflops: nil),
            ModelPreset(name: "resnet-mini", family: "resnet", scale: .mini, inputSize: 32, inputChannels: 1,
                        classes: 10) { rng in
                ResNet(miniConfig, rng: &rng)
            },
        ]
    }

    /// The student of the small scale: CIFAR stem, basic blocks, stage grids 32/16/8/4.
    public static var miniConfig: Config {
        Config(block: .basic, depths: [1, 1, 1, 1], widths: [16, 32, 64, 128], stem: .cifar,
               inputSize: 32, inputChannels: 1, classes: 10)
    }
}
