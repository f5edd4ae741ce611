import Tensor

/// A layer or model. Parameters and buffers are found by reflection over stored
/// properties and named as PyTorch names them: a property `patchEmbed` holding a
/// module with `weight` gives `patch_embed.weight`; arrays of modules are numbered
/// (`blocks.0.attn.qkv.weight`). So checkpoints and fixtures line up with timm/torchvision.
open class Module {
    /// Training mode (batch statistics, dropout); `setTraining` sets it recursively.
    public private(set) var isTraining = true

    public init() {}

    public func setTraining(_ on: Bool) {
        isTraining = on
        for (_, m) in childModules() { m.setTraining(on) }
    }

    /// Tensors owned directly by this module (parameters and buffers), in declaration order.
    open func ownTensors() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        forEachChild { name, value in
            if let t = value as? Tensor { out.append((name, t)) }
            if let ts = value as? [Tensor] { for (i, t) in ts.enumerated() { out.append(("\(name).\(i)", t)) } }
        }
        return out
    }

    /// Direct sub-modules with their names, in declaration order.
    open func childModules() -> [(String, Module)] {
        var out: [(String, Module)] = []
        forEachChild { name, value in
            if let m = value as? Module { out.append((name, m)) }
            if let ms = value as? [Module] { for (i, m) in ms.enumerated() { out.append(("\(name).\(i)", m)) } }
        }
        return out
    }

    /// Every tensor of the state (parameters and buffers) under its dotted name.
    public func namedTensors(prefix: String = "") -> [(String, Tensor)] {
        var out = ownTensors().map { (prefix + $0.0, $0.1) }
        for (name, m) in childModules() { out += m.namedTensors(prefix: prefix + name + ".") }
        return out
    }

    /// Parameters (trainable or frozen) under their dotted names.
    public func namedParameters() -> [(String, Tensor)] { namedTensors().filter { $0.1.isParameter } }

    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Number of parameter elements.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Stops gradients being stored for every parameter (gradients still flow through).
    public func freeze() { for p in parameters() { p.requiresGrad = false } }

    public func zeroGradients() { for p in parameters() { p.grad = nil } }

    private func forEachChild(_ body: (String, Any) -> Void) {
        var mirror: Mirror? = Mirror(reflecting: self)
        var levels: [Mirror] = []
        while let m = mirror { levels.append(m); mirror = m.superclassMirror }
        for m in levels.reversed() {
            for child in m.children {
                guard let label = child.label, !label.hasPrefix("_"), label != "isTraining" else { continue }
                var value = child.value
                // Unwrap optionals so `let bias: Tensor?` is found.
                let om = Mirror(reflecting: value)
                if om.displayStyle == .optional {
                    guard let some = om.children.first?.value else { continue }
                    value = some
                }
                body(Module.snakeCase(label), value)
            }
        }
    }

    /// camelCase -> snake_case (digits stay attached: norm1, fc2).
    public static func snakeCase(_ s: String) -> String {
        var out = ""
        for ch in s {
            if ch.isUppercase { if !out.isEmpty { out.append("_") }; out += ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}

/// A trainable weight, marked as a parameter.
public func parameter(_ shape: [Int], _ fill: (inout RandomGenerator) -> Float, rng: inout RandomGenerator) -> Tensor {
    if MetaMode.isActive { return metaParameter(shape) }
    let n = shape.reduce(1, *)
    var v = [Float](repeating: 0, count: n)
    for i in 0..<n { v[i] = fill(&rng) }
    let t = Tensor(shape: shape, values: v, requiresGrad: true)
    t.isParameter = true
    return t
}

public func parameter(_ shape: [Int], constant: Float) -> Tensor {
    if MetaMode.isActive { return metaParameter(shape) }
    let t = Tensor(shape: shape, repeating: constant)
    t.requiresGrad = true
    t.isParameter = true
    return t
}

private func metaParameter(_ shape: [Int]) -> Tensor {
    let t = Tensor.meta(shape)
    t.requiresGrad = true
    t.isParameter = true
    return t
}

/// Initialisers named as in PyTorch/timm.
public enum Init {
    /// PyTorch's default for Linear/Conv weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
    public static func uniformFanIn(_ fanIn: Int) -> (inout RandomGenerator) -> Float {
        let b = 1 / Float(fanIn).squareRoot()
        return { rng in (rng.nextFloat() * 2 - 1) * b }
    }
    /// timm's trunc_normal_(std) for transformer weights.
    public static func truncatedNormal(std: Float) -> (inout RandomGenerator) -> Float {
        { rng in rng.nextTruncatedNormal(std: std) }
    }
    /// torchvision ResNet: kaiming_normal_(mode="fan_out", nonlinearity="relu").
    public static func kaimingNormalFanOut(_ fanOut: Int) -> (inout RandomGenerator) -> Float {
        let std = (2 / Float(fanOut)).squareRoot()
        return { rng in rng.nextNormal() * std }
    }
    public static func normal(std: Float) -> (inout RandomGenerator) -> Float { { rng in rng.nextNormal() * std } }
}
