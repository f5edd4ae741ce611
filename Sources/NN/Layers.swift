import Tensor

/// y = x W^T + b (PyTorch layout: weight [out, in]).
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RandomGenerator,
                weightInit: ((inout RandomGenerator) -> Float)? = nil) {
        weight = parameter([outFeatures, inFeatures], weightInit ?? Init.uniformFanIn(inFeatures), rng: &rng)
        self.bias = bias ? (weightInit == nil ? parameter([outFeatures], Init.uniformFanIn(inFeatures), rng: &rng)
                                             : parameter([outFeatures], constant: 0)) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
}

/// 2-D convolution over NCHW.
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, rng: inout RandomGenerator,
                weightInit: ((inout RandomGenerator) -> Float)? = nil) {
        let fanIn = inChannels / groups * kernel * kernel
        weight = parameter([outChannels, inChannels / groups, kernel, kernel], weightInit ?? Init.uniformFanIn(fanIn), rng: &rng)
        self.bias = bias ? (weightInit == nil ? parameter([outChannels], Init.uniformFanIn(fanIn), rng: &rng)
                                             : parameter([outChannels], constant: 0)) : nil
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, groups: groups)
    }
}

/// Batch norm over channels of [N, C, ...], with running statistics as buffers.
public final class BatchNorm2d: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let momentum: Float, eps: Float

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        weight = parameter([channels], constant: 1)
        bias = parameter([channels], constant: 0)
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
        self.momentum = momentum
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.batchNorm(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                    training: isTraining, momentum: momentum, eps: eps)
    }
}

/// Layer norm over the last axis ([..., D]); `channelsFirst` normalises axis 1 of
/// [N, C, H, W] instead (ConvNeXt's LayerNorm2d), by moving channels last and back.
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float
    public let channelsFirst: Bool

    public init(_ dim: Int, eps: Float = 1e-5, channelsFirst: Bool = false) {
        weight = parameter([dim], constant: 1)
        bias = parameter([dim], constant: 0)
        self.eps = eps
        self.channelsFirst = channelsFirst
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if channelsFirst {
            return x.permuted([0, 2, 3, 1]).layerNorm(weight: weight, bias: bias, eps: eps).permuted([0, 3, 1, 2])
        }
        return x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}

public enum Activation: String, Codable, Sendable {
    case relu, gelu
    public func callAsFunction(_ x: Tensor) -> Tensor { self == .relu ? x.relu() : x.gelu() }
}

/// Two linear layers with an activation between (transformer FFN, Mixer MLPs).
public final class MLP: Module {
    public let fc1: Linear
    public let fc2: Linear
    public let activation: Activation

    public init(_ inFeatures: Int, hidden: Int, out: Int? = nil, activation: Activation = .gelu,
                rng: inout RandomGenerator, weightInit: ((inout RandomGenerator) -> Float)? = nil) {
        fc1 = Linear(inFeatures, hidden, rng: &rng, weightInit: weightInit)
        fc2 = Linear(hidden, out ?? inFeatures, rng: &rng, weightInit: weightInit)
        self.activation = activation
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(activation(fc1(x))) }
}
