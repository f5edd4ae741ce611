import CNative
import Foundation

/// Which code computes multi-head attention (NN's `multiHeadAttention`): the composed ops
/// (split heads, batched matmul, scale, bias add, softmax, matmul, merge heads), or one fused
/// kernel per (entry, head) (CNative skd_attention_forward/backward: scores and products
/// register-blocked, the probabilities kept once for the backward, Q, K, V read and O
/// written where the projections put them).
/// SCALEKD_ATTENTION picks: `composed` (the default), `fused`, or `auto` (fused where the op
/// records a gradient, composed without). Measured (`scalekd bench`, one thread, Intel Xeon
/// family 6 model 207, 2026-12-07, host noisy: +-20% between identical runs): training
/// steps fused vs composed 0.97-1.11x (vit-mini-s 1077-1105 vs 1023-1029 images/s,
/// swin-mini-t 280 vs 281), forwards without gradients 0.8-0.95x (short score rows: the
/// fused softmax loses to one softmax pass over all rows), the ScaleKD step swin-mini-l ->
/// resnet-mini under auto 0.92-1.0x; peak memory of a training step 17-22% lower fused
/// (swin-mini-t 744 -> 618 MiB, vit-mini-s 253 -> 197). So composed stays the default and
/// fused is the choice where memory binds (paper-scale Swin-L). The paths round
/// differently (summation order), so a run records the policy (provenance) and a run
/// resumed from a checkpoint should keep the one it started with.
public enum AttentionBackend: String, CaseIterable, Sendable {
    case fused, composed

    public enum Policy: String, CaseIterable, Sendable { case fused, composed, auto }

    public static let policy: Policy = environmentPolicy("SCALEKD_ATTENTION", default: .composed)

    /// Set by tests and benchmarks to force one path in this process.
    nonisolated(unsafe) static var forced: AttentionBackend?

    /// The path of an attention op called now.
    public static var current: AttentionBackend {
        if let forced { return forced }
        switch policy {
        case .fused: return .fused
        case .composed: return .composed
        case .auto: return GradMode.isEnabled ? .fused : .composed
        }
    }

    /// The policy in words, for env reports and provenance.
    public static var summary: String {
        policy == .auto ? "auto (fused with gradients, composed without)" : policy.rawValue
    }

    /// Runs `body` with attention on `backend` (not for concurrent use).
    public static func using<T>(_ backend: AttentionBackend, _ body: () throws -> T) rethrows -> T {
        let was = forced
        forced = backend
        defer { forced = was }
        return try body()
    }
}

/// Where one of Q, K, V lives: a tensor, the offset of head 0 of row 0 of entry 0, and the
/// strides between entries and between rows (heads lie d floats apart).
struct AttentionOperand {
    let tensor: Tensor
    let offset: Int, batchStride: Int, rowStride: Int
}

extension Tensor {
    /// Fused multi-head attention over timm's fused projection: self is qkv [B, L, 3C]
    /// (q, k, v, each `heads` x d) -> [B, L, C], heads merged. `bias` [heads, L, L] (relative
    /// position bias) and `mask` [windows, L, L] (constant; entry b takes window b % windows)
    /// are added to the scaled scores.
    public func packedAttention(heads: Int, scale: Float, bias: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        precondition(rank == 3 && shape[2] % (3 * heads) == 0, "packedAttention: \(shape) is not [B, L, 3 x \(heads) heads x d]")
        let (b, l, c3) = (shape[0], shape[1], shape[2])
        let c = c3 / 3
        func part(_ i: Int) -> AttentionOperand { AttentionOperand(tensor: self, offset: i * c, batchStride: l * c3, rowStride: c3) }
        return Tensor.fusedAttention(q: part(0), k: part(1), v: part(2), batch: b, queries: l, keys: l, width: c, heads: heads,
                                     scale: scale, bias: bias, mask: mask)
    }

    /// Fused multi-head attention of separate projections: q [B, Lq, C], k and v [B, Lk, C]
    /// -> [B, Lq, C]; `bias` [heads, Lq, Lk] is added to the scaled scores.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float, bias: Tensor? = nil) -> Tensor {
        precondition(q.rank == 3 && k.rank == 3 && v.shape == k.shape && q.shape[0] == k.shape[0] && q.shape[2] == k.shape[2]
                     && q.shape[2] % heads == 0, "attention: q \(q.shape), k \(k.shape), v \(v.shape) with \(heads) heads")
        let (b, lq, lk, c) = (q.shape[0], q.shape[1], k.shape[1], q.shape[2])
        return fusedAttention(q: AttentionOperand(tensor: q, offset: 0, batchStride: lq * c, rowStride: c),
                              k: AttentionOperand(tensor: k, offset: 0, batchStride: lk * c, rowStride: c),
                              v: AttentionOperand(tensor: v, offset: 0, batchStride: lk * c, rowStride: c),
                              batch: b, queries: lq, keys: lk, width: c, heads: heads, scale: scale, bias: bias, mask: nil)
    }

    static func fusedAttention(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, batch: Int, queries lq: Int, keys lk: Int,
                               width c: Int, heads: Int, scale: Float, bias: Tensor?, mask: Tensor?) -> Tensor {
        let d = c / heads
        if let bias { precondition(bias.count == heads * lq * lk, "attention: bias \(bias.shape) is not [\(heads), \(lq), \(lk)]") }
        if let mask {
            precondition(mask.rank == 3 && mask.shape[1] == lq && mask.shape[2] == lk && batch % mask.shape[0] == 0 && !mask.requiresGrad,
                         "attention: mask \(mask.shape) is not a constant [windows, \(lq), \(lk)] for \(batch) entries")
        }
        var inputs: [Tensor] = []
        for t in [q.tensor, k.tensor, v.tensor] + (bias.map { [$0] } ?? []) where !inputs.contains(where: { $0 === t }) { inputs.append(t) }
        if let m = Tensor.metaResult(inputs, [batch, lq, c], macs: 2 * batch * heads * lq * lk * d) { return m }
        let geo = skd_attention_geometry(heads: heads, lq: lq, lk: lk, d: d, q_batch: q.batchStride, q_row: q.rowStride,
                                         k_batch: k.batchStride, k_row: k.rowStride, v_batch: v.batchStride, v_row: v.rowStride,
                                         o_batch: lq * c, o_row: c, windows: mask?.shape[0] ?? 1, scale: scale)
        let out = Tensor.empty([batch, lq, c])
        let keep = GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad })
        let probabilities: Tensor? = keep ? Tensor.empty([batch, heads, lq, lk]) : nil
        let pq = q.tensor.pointer + q.offset, pk = k.tensor.pointer + k.offset, pv = v.tensor.pointer + v.offset
        let pb = bias?.pointer, pm = mask?.pointer, po = out.pointer, pp = probabilities?.pointer
        let grain = Swift.max(1, 65536 / Swift.max(1, heads * lq * lk * d))
        parallelFor(batch, grain: grain) { r in
            var gr = geo
            skd_attention_forward(&gr, pq, pk, pv, pb, pm, po, pp, r.lowerBound, r.upperBound)
        }
        return out.record("attention", inputs) { g in
            // The closure holds the probabilities (and q, k, v through the operands) alive.
            guard let pp = probabilities?.pointer else { return }
            // One gradient buffer per tensor (q, k, v may share one: the packed projection).
            func gradient(_ o: AttentionOperand) -> UnsafeMutablePointer<Float>? {
                o.tensor.requiresGrad ? o.tensor.gradBuffer().pointer + o.offset : nil
            }
            let dq = gradient(q), dk = gradient(k), dv = gradient(v), pg = g.pointer
            let biasGrad = bias.flatMap { $0.requiresGrad ? $0 : nil }
            let chunks = parallelChunkCount(batch, grain: grain)
            let partials = biasGrad.map { _ in ChunkPartials(chunks: chunks, width: heads * lq * lk) }
            parallelChunks(batch, chunks: chunks) { chunk, r in
                var gr = geo
                skd_attention_backward(&gr, pq, pk, pv, pp, pg, dq, dk, dv, partials?.buffer(chunk), r.lowerBound, r.upperBound)
            }
            if let biasGrad, let partials { partials.addInOrder(into: biasGrad.gradBuffer().pointer) }
        }
    }
}
