import Foundation
import Tensor

/// A parameter with its optimisation settings.
public struct ParameterSlot {
    public let name: String
    public let tensor: Tensor
    public let weightDecay: Float

    public init(name: String, tensor: Tensor, weightDecay: Float) {
        self.name = name
        self.tensor = tensor
        self.weightDecay = weightDecay
    }
}

/// Weight decay for every trainable parameter except norms, biases and position
/// embeddings/tables (rank <= 1 or a name that marks a position/token embedding),
/// as timm and the authors' configs do.
public func parameterSlots(_ named: [(String, Tensor)], weightDecay: Float) -> [ParameterSlot] {
    named.filter { $0.1.requiresGrad }.map { name, t in
        let exempt = t.rank <= 1 || name.hasSuffix("pos_embed") || name.contains("relative_position_bias_table")
            || name.hasSuffix("cls_token") || name.hasSuffix("query_embed.weight")
        return ParameterSlot(name: name, tensor: t, weightDecay: exempt ? 0 : weightDecay)
    }
}

/// An optimiser updates parameters from their gradients and keeps named state
/// (for checkpoints).
public protocol Optimizer: AnyObject {
    var slots: [ParameterSlot] { get }
    var stepCount: Int { get set }
    func step(learningRate: Float)
    /// Named state arrays for checkpoints, e.g. "exp_avg.stages.0.weight".
    func stateTensors() -> [(String, Tensor)]
}

extension Optimizer {
    public func zeroGradients() { for s in slots { s.tensor.grad = nil } }
}

/// SGD with momentum (PyTorch semantics: decay added to the gradient; first step
/// initialises the buffer with the gradient; optional Nesterov).
public final class SGD: Optimizer {
    public let slots: [ParameterSlot]
    public let momentum: Float
    public let nesterov: Bool
    public var stepCount = 0
    var buffers: [Tensor]

    public init(_ slots: [ParameterSlot], momentum: Float = 0.9, nesterov: Bool = false) {
        self.slots = slots
        self.momentum = momentum
        self.nesterov = nesterov
        buffers = slots.map { Tensor(zeros: $0.tensor.shape) }
    }

    public func step(learningRate lr: Float) {
        let first = stepCount == 0
        stepCount += 1
        for (s, buf) in zip(slots, buffers) {
            guard let g = s.tensor.grad else { continue }
            let p = s.tensor.pointer, pg = g.pointer, b = buf.pointer, wd = s.weightDecay, m = momentum
            for i in 0..<s.tensor.count {
                var d = pg[i] + wd * p[i]
                if m != 0 {
                    b[i] = first ? d : m * b[i] + d
                    d = nesterov ? d + m * b[i] : b[i]
                }
                p[i] -= lr * d
            }
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        zip(slots, buffers).map { ("momentum_buffer.\($0.name)", $1) }
    }
}

/// The Adam moments and their bias correction, shared by AdamW and LAMB.
public final class AdamMoments {
    public let beta1: Float, beta2: Float, eps: Float
    public var stepCount = 0
    let m: [Tensor], v: [Tensor]

    init(_ slots: [ParameterSlot], beta1: Float, beta2: Float, eps: Float) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        m = slots.map { Tensor(zeros: $0.tensor.shape) }
        v = slots.map { Tensor(zeros: $0.tensor.shape) }
    }

    /// Counts one step and returns its bias corrections (1 - beta1^t, 1 - beta2^t).
    func advance() -> (Float, Float) {
        stepCount += 1
        return (1 - Foundation.pow(beta1, Float(stepCount)), 1 - Foundation.pow(beta2, Float(stepCount)))
    }

    /// PyTorch's state names, for checkpoints.
    func stateTensors(_ slots: [ParameterSlot]) -> [(String, Tensor)] {
        slots.indices.flatMap { [("exp_avg.\(slots[$0].name)", m[$0]), ("exp_avg_sq.\(slots[$0].name)", v[$0])] }
    }
}

/// AdamW (decoupled weight decay, PyTorch semantics with bias correction).
public final class AdamW: Optimizer {
    public let slots: [ParameterSlot]
    public let moments: AdamMoments
    public var stepCount: Int { get { moments.stepCount } set { moments.stepCount = newValue } }

    public init(_ slots: [ParameterSlot], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) {
        self.slots = slots
        moments = AdamMoments(slots, beta1: beta1, beta2: beta2, eps: eps)
    }

    public func step(learningRate lr: Float) {
        let (bc1, bc2) = moments.advance()
        let b1 = moments.beta1, b2 = moments.beta2, e = moments.eps
        let sqrtBc2 = bc2.squareRoot()
        for (i, s) in slots.enumerated() {
            guard let g = s.tensor.grad else { continue }
            let p = s.tensor.pointer, pg = g.pointer, pm = moments.m[i].pointer, pv = moments.v[i].pointer
            let decay = 1 - lr * s.weightDecay
            for j in 0..<s.tensor.count {
                p[j] *= decay
                pm[j] = b1 * pm[j] + (1 - b1) * pg[j]
                pv[j] = b2 * pv[j] + (1 - b2) * pg[j] * pg[j]
                p[j] -= lr * (pm[j] / bc1) / (pv[j].squareRoot() / sqrtBc2 + e)
            }
        }
    }

    public func stateTensors() -> [(String, Tensor)] { moments.stateTensors(slots) }
}

/// LAMB (You et al. 2020), as timm implements it: Adam moments with bias correction,
/// decoupled decay added to the update, and a per-tensor trust ratio ||p|| / ||update||.
public final class LAMB: Optimizer {
    public let slots: [ParameterSlot]
    public let moments: AdamMoments
    public var stepCount: Int { get { moments.stepCount } set { moments.stepCount = newValue } }

    public init(_ slots: [ParameterSlot], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6) {
        self.slots = slots
        moments = AdamMoments(slots, beta1: beta1, beta2: beta2, eps: eps)
    }

    public func step(learningRate lr: Float) {
        let (bc1, bc2) = moments.advance()
        let beta1 = moments.beta1, beta2 = moments.beta2, eps = moments.eps
        for (i, s) in slots.enumerated() {
            guard let g = s.tensor.grad else { continue }
            let n = s.tensor.count
            let p = s.tensor.pointer, pg = g.pointer, pm = moments.m[i].pointer, pv = moments.v[i].pointer
            var update = [Float](repeating: 0, count: n)
            var pNorm: Double = 0, uNorm: Double = 0
            for j in 0..<n {
                pm[j] = beta1 * pm[j] + (1 - beta1) * pg[j]
                pv[j] = beta2 * pv[j] + (1 - beta2) * pg[j] * pg[j]
                let u = (pm[j] / bc1) / ((pv[j] / bc2).squareRoot() + eps) + s.weightDecay * p[j]
                update[j] = u
                pNorm += Double(p[j] * p[j]); uNorm += Double(u * u)
            }
            let trust: Float = pNorm > 0 && uNorm > 0 ? Float(pNorm.squareRoot() / uNorm.squareRoot()) : 1
            for j in 0..<n { p[j] -= lr * trust * update[j] }
        }
    }

    public func stateTensors() -> [(String, Tensor)] { moments.stateTensors(slots) }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before.
@discardableResult
public func clipGradientNorm(_ params: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in params { if let g = p.grad { for i in 0..<g.count { total += Double(g.pointer[i] * g.pointer[i]) } } }
    let norm = Float(total.squareRoot())
    if norm > maxNorm {
        let s = maxNorm / (norm + 1e-6)
        for p in params { if let g = p.grad { for i in 0..<g.count { g.pointer[i] *= s } } }
    }
    return norm
}
