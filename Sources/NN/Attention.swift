import Foundation
import Tensor

/// Scaled dot-product attention on [B, h, Lq, d] x [B, h, Lk, d] -> [B, h, Lq, d],
/// built from primitives (matmul, softmax) so its gradient needs no code of its own.
/// `bias` is added to the logits ([h, Lq, Lk] or broadcastable: relative position
/// bias, shifted-window masks). The composed path of `multiHeadAttention`.
public func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float, bias: Tensor? = nil) -> Tensor {
    var logits = q.matmul(k, transposeB: true) * scale
    if let bias { logits = logits + bias }
    return logits.softmax().matmul(v)
}

/// Multi-head attention with heads merged, on the fused kernel or the composed ops
/// (AttentionBackend, SCALEKD_ATTENTION): the one place every model's attention goes through.
/// Either `qkv` [B, L, 3C] (timm's fused projection: q, k, v, each heads x d) or `q` [B, Lq, C]
/// with `k`, `v` [B, Lk, C]. `bias` [h, Lq, Lk] and `mask` [windows, Lq, Lk] (constant;
/// entry b takes window b % windows: Swin's shifted windows) are added to the scaled
/// scores. Returns [B, Lq, C].
public func multiHeadAttention(qkv: Tensor, heads: Int, scale: Float, bias: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
    if AttentionBackend.current == .fused { return qkv.packedAttention(heads: heads, scale: scale, bias: bias, mask: mask) }
    let parts = qkv.splitHeads(parts: 3, heads: heads)  // q, k, v [B, h, L, d]
    return composedAttention(q: parts[0], k: parts[1], v: parts[2], scale: scale, bias: bias, mask: mask)
}

public func multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float, bias: Tensor? = nil) -> Tensor {
    if AttentionBackend.current == .fused { return Tensor.attention(q: q, k: k, v: v, heads: heads, scale: scale, bias: bias) }
    return composedAttention(q: splitHeads(q, heads: heads), k: splitHeads(k, heads: heads), v: splitHeads(v, heads: heads),
                             scale: scale, bias: bias, mask: nil)
}

/// The composed path on heads already split ([B, h, L, d]) -> [B, L, h*d].
private func composedAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float, bias: Tensor?, mask: Tensor?) -> Tensor {
    let (b, h, lq, lk) = (q.shape[0], q.shape[1], q.shape[2], k.shape[2])
    let out: Tensor
    if let mask {
        // One broadcast add of (bias + mask) [nW, h, Lq, Lk] over the windows of every image.
        let nw = mask.shape[0]
        let windowBias = (bias.map { $0.reshaped([h, lq, lk]) + mask.reshaped([nw, 1, lq, lk]) }) ?? mask.reshaped([nw, 1, lq, lk])
        let logits = (q.matmul(k, transposeB: true) * scale).reshaped([b / nw, nw, h, lq, lk]) + windowBias
        out = logits.reshaped([b, h, lq, lk]).softmax().matmul(v)
    } else {
        out = scaledDotProductAttention(q: q, k: k, v: v, scale: scale, bias: bias?.reshaped([h, lq, lk]))
    }
    return h == 1 ? out.reshaped([b, lq, out.shape[3]]) : mergeHeads(out)
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

    /// x [B, L, C]; `bias` [h, L, L].
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        let d = x.shape[2] / heads
        return proj(multiHeadAttention(qkv: qkv(x), heads: heads, scale: 1 / Float(d).squareRoot(), bias: bias))
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
        return proj(multiHeadAttention(q: q(queries), k: k(keysValues), v: v(keysValues), heads: heads,
                                       scale: extraScale / Float(d).squareRoot()))
    }
}
