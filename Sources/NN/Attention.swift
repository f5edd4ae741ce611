import Foundation
import Tensor

/// Scaled dot-product attention on [B, h, Lq, d] x [B, h, Lk, d] -> [B, h, Lq, d],
/// built from primitives (matmul, softmax) so its gradient needs no code of its own.
/// `bias` is added to the logits ([h, Lq, Lk] or broadcastable: relative position
/// bias, shifted-window masks).
public func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float, bias: Tensor? = nil) -> Tensor {
    var logits = q.matmul(k, transposeB: true) * scale
    if let bias { logits = logits + bias }
    return logits.softmax().matmul(v)
}

/// [B, L, h*d] -> [B, h, L, d]
public func splitHeads(_ x: Tensor, heads: Int) -> Tensor { x.splitHeads(parts: 1, heads: heads)[0] }

/// [B, h, L, d] -> [B, L, h*d]
public func mergeHeads(_ x: Tensor) -> Tensor {
    let (b, h, l, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.permuted([0, 2, 1, 3]).reshaped([b, l, h * d])
}

/// Multi-head self-attention with a fused qkv projection (timm's `Attention` layout:
/// `qkv.weight` [3C, C], `proj.weight` [C, C]).
public final class MultiHeadSelfAttention: Module {
    public let qkv: Linear
    public let proj: Linear
    public let heads: Int

    public init(dim: Int, heads: Int, qkvBias: Bool = true, rng: inout RandomGenerator,
                weightInit: ((inout RandomGenerator) -> Float)? = nil) {
        precondition(dim % heads == 0, "attention width \(dim) not divisible by \(heads) heads")
        qkv = Linear(dim, 3 * dim, bias: qkvBias, rng: &rng, weightInit: weightInit)
        proj = Linear(dim, dim, rng: &rng, weightInit: weightInit)
        self.heads = heads
    }

    /// x [B, L, C]; `bias` broadcastable to [B, h, L, L].
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        let d = x.shape[2] / heads
        let qkv = self.qkv(x).splitHeads(parts: 3, heads: heads)  // q, k, v [B, h, L, d]
        let out = scaledDotProductAttention(q: qkv[0], k: qkv[1], v: qkv[2], scale: 1 / Float(d).squareRoot(), bias: bias)
        return proj(mergeHeads(out))
    }
}

/// Multi-head cross-attention: queries [B, Lq, Cq] attend to keys/values [B, Lk, Ckv];
/// everything is projected to `dim`. `extraScale` multiplies the logits on top of
/// d^-0.5 (ScaleKD's CAP uses 5).
public final class MultiHeadCrossAttention: Module {
    public let q: Linear
    public let k: Linear
    public let v: Linear
    public let proj: Linear
    public let heads: Int
    public let extraScale: Float

    public init(queryDim: Int, keyDim: Int, dim: Int, heads: Int, extraScale: Float = 1,
                rng: inout RandomGenerator, weightInit: ((inout RandomGenerator) -> Float)? = nil) {
        precondition(dim % heads == 0, "attention width \(dim) not divisible by \(heads) heads")
        q = Linear(queryDim, dim, rng: &rng, weightInit: weightInit)
        k = Linear(keyDim, dim, rng: &rng, weightInit: weightInit)
        v = Linear(keyDim, dim, rng: &rng, weightInit: weightInit)
        proj = Linear(dim, dim, rng: &rng, weightInit: weightInit)
        self.heads = heads
        self.extraScale = extraScale
    }

    public func callAsFunction(queries: Tensor, keysValues: Tensor) -> Tensor {
        let dim = q.weight.shape[0], d = dim / heads
        let qh = splitHeads(q(queries), heads: heads)
        let kh = splitHeads(k(keysValues), heads: heads)
        let vh = splitHeads(v(keysValues), heads: heads)
        let out = scaledDotProductAttention(q: qh, k: kh, v: vh, scale: extraScale / Float(d).squareRoot())
        return proj(mergeHeads(out))
    }
}
