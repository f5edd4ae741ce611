import NN
import Tensor

/// MobileNet-V1 (Howard et al. 2017): a 3x3 conv, then depthwise-separable units
/// (3x3 depthwise conv, BN, ReLU, 1x1 pointwise conv, BN, ReLU), global average pool, a
/// linear head. Names follow the mmcls backbone used by KD repos (MGD, ScaleKD):
/// `model.0.0` / `model.0.1` the stem conv / BN, `model.k.0` / `.1` the depthwise conv / BN,
/// `model.k.3` / `.4` the pointwise conv / BN (the ReLUs sit at `.2` and `.5`), `head.fc`.
/// Stages end where the grid halves next: at 224 px after units 3, 5, 11, 13 (56/28/14/7).
public final class MobileNetV1: Module, ImageClassifier {
    public struct Config: Sendable {
        /// Output channels and stride of each unit; unit 0 is the plain 3x3 conv.
        public var units: [(channels: Int, stride: Int)]
        /// Index of the last unit of each of the four stages.
        public var stageEnds: [Int]
        public var inputSize: Int
        public var inputChannels: Int
        public var classes: Int

        public init(units: [(channels: Int, stride: Int)], stageEnds: [Int], inputSize: Int = 224,
                    inputChannels: Int = 3, classes: Int = 1000) {
            precondition(stageEnds.count == 4 && stageEnds.last == units.count - 1, "MobileNetV1: four stages covering all units")
            self.units = units; self.stageEnds = stageEnds; self.inputSize = inputSize
            self.inputChannels = inputChannels; self.classes = classes
        }

        /// The paper's 1.0x network, optionally thinned by `widthMultiplier`, with `middleUnits`
        /// stride-1 units at the 14x14 level (5 in the paper) and the stem/first-downsample
        /// strides given (2 and 2 at 224 px; 1 and 1 keep 32 px input at 32/16/8/4).
        public static func standard(widthMultiplier: Double = 1, middleUnits: Int = 5, stemStride: Int = 2,
                                    firstDownsampleStride: Int = 2, inputSize: Int = 224, inputChannels: Int = 3,
                                    classes: Int = 1000) -> Config {
            func c(_ n: Int) -> Int { Swift.max(1, Int((Double(n) * widthMultiplier).rounded())) }
            var units: [(channels: Int, stride: Int)] = [
                (c(32), stemStride), (c(64), 1), (c(128), firstDownsampleStride), (c(128), 1),
                (c(256), 2), (c(256), 1), (c(512), 2),
            ]
            units += Array(repeating: (c(512), 1), count: middleUnits)
            units += [(c(1024), 2), (c(1024), 1)]
            let n = units.count
            return Config(units: units, stageEnds: [3, 5, n - 3, n - 1], inputSize: inputSize,
                          inputChannels: inputChannels, classes: classes)
        }
    }

    public let model: [Module]
    public let head: MobileNetV1Head
    public let config: Config
    private let _stem: MobileNetConvBN
    private let _units: [MobileNetSeparableUnit]

    public init(_ config: Config, rng: inout RandomGenerator) {
        self.config = config
        _stem = MobileNetConvBN(config.inputChannels, config.units[0].channels, stride: config.units[0].stride, rng: &rng)
        var units: [MobileNetSeparableUnit] = []
        for i in 1..<config.units.count {
            units.append(MobileNetSeparableUnit(config.units[i - 1].channels, config.units[i].channels,
                                            stride: config.units[i].stride, rng: &rng))
        }
        _units = units
        model = [_stem] + units
        head = MobileNetV1Head(config.units.last!.channels, config.classes, rng: &rng)
    }

    public var stageChannels: [Int] { config.stageEnds.map { config.units[$0].channels } }

    public var stageGrids: [Int] {
        var grid = config.inputSize, out: [Int] = []
        for (i, u) in config.units.enumerated() {
            grid = (grid - 1) / u.stride + 1  // 3x3, padding 1
            if config.stageEnds.contains(i) { out.append(grid) }
        }
        return out
    }

    public func stageFeatures(_ x: Tensor) -> StageOutputs {
        var h = _stem(x), stages: [Tensor] = []
        if config.stageEnds.contains(0) { stages.append(h) }
        for (i, unit) in _units.enumerated() {
            h = unit(h)
            if config.stageEnds.contains(i + 1) { stages.append(h) }
        }
        return StageOutputs(stages: stages, logits: head.fc(h.mean(axes: [2, 3])))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { stageFeatures(x).logits }
}

/// mmcls's `LinearClsHead` (after global average pooling): `head.fc`, weights N(0, 0.01), zero bias.
public final class MobileNetV1Head: Module {
    public let fc: Linear
    init(_ inFeatures: Int, _ classes: Int, rng: inout RandomGenerator) {
        fc = Linear(inFeatures, classes, rng: &rng, weightInit: Init.normal(std: 0.01))
    }
}

/// Conv 3x3 (no bias) + BN + ReLU as a Sequential: `0` conv, `1` BN.
/// Convs are kaiming-normal (fan_out), BN 1/0, as the mmcls backbone's init_cfg.
private final class MobileNetConvBN: Module {
    let conv: Conv2d
    let bn: BatchNorm2d

    init(_ inChannels: Int, _ outChannels: Int, stride: Int, rng: inout RandomGenerator) {
        conv = Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, bias: false, rng: &rng,
                      weightInit: Init.kaimingNormalFanOut(outChannels * 9))
        bn = BatchNorm2d(outChannels)
    }

    override func childModules() -> [(String, Module)] { [("0", conv), ("1", bn)] }

    func callAsFunction(_ x: Tensor) -> Tensor { bn(conv(x)).relu() }
}

/// Depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN + ReLU, as a Sequential with the ReLUs at 2 and 5.
private final class MobileNetSeparableUnit: Module {
    let depthwise: Conv2d
    let bn1: BatchNorm2d
    let pointwise: Conv2d
    let bn2: BatchNorm2d

    init(_ inChannels: Int, _ outChannels: Int, stride: Int, rng: inout RandomGenerator) {
        // fan_out of a depthwise weight [C, 1, 3, 3] is C * 9, as PyTorch computes it.
        depthwise = Conv2d(inChannels, inChannels, kernel: 3, stride: stride, padding: 1, groups: inChannels,
                           bias: false, rng: &rng, weightInit: Init.kaimingNormalFanOut(inChannels * 9))
        bn1 = BatchNorm2d(inChannels)
        pointwise = Conv2d(inChannels, outChannels, kernel: 1, bias: false, rng: &rng,
                           weightInit: Init.kaimingNormalFanOut(outChannels))
        bn2 = BatchNorm2d(outChannels)
    }

    override func childModules() -> [(String, Module)] { [("0", depthwise), ("1", bn1), ("3", pointwise), ("4", bn2)] }

    func callAsFunction(_ x: Tensor) -> Tensor { bn2(pointwise(bn1(depthwise(x)).relu())).relu() }
}

extension MobileNetV1 {
    public static var presets: [ModelPreset] {
        [
            ModelPreset(name: "mobilenet-v1", family: "mobilenet-v1", scale: .paper, inputSize: 224,
                        paperParamsM: 4.23, paperGFLOPs: 0.58) { rng in
                MobileNetV1(.standard(), rng: &rng)
            },
            ModelPreset(name: "mobilenet-mini", family: "mobilenet-v1", scale: .mini, inputSize: 32, inputChannels: 1,
                        classes: 10) { rng in
                MobileNetV1(miniConfig, rng: &rng)
            },
        ]
    }

    /// The student of the small scale: stride-1 stem and first downsample so 32 px input
    /// gives stage grids 32/16/8/4; thinner and with fewer 8x8 units than the paper's.
    public static var miniConfig: Config {
        .standard(widthMultiplier: 0.25, middleUnits: 2, stemStride: 1, firstDownsampleStride: 1,
                  inputSize: 32, inputChannels: 1, classes: 10)
    }
}
