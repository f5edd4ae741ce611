import Foundation
import NN
import Tensor

/// Cross Attention Projector (CAP, docs/method.md section 1): turns a student feature map
/// [N, Cs, H, W] into teacher-like tokens [N, Hq*Wq, Ct] by cross-attention from
/// queries on the teacher's grid. Names follow the authors' `AttentionProjector`.
public final class CrossAttentionProjector: Module {
    /// Patchify stem: Conv3x3(Cs -> Cs) + BN + ReLU (index names as nn.Sequential).
    public let projStudent: [Module]
    /// Learnable positional embedding [1, Cs, H, W] (trunc-normal std 0.02).
    public let posEmbed: Tensor
    /// Learnable query table [Hq*Wq, Ct] ("self query"); nil when queries are handed in (TPP).
    public let query: Tensor?
    /// Conv1x1(Ct -> Ct) + ReLU on the queries, as a map.
    public let projPos: Conv2d
    public let attention: MultiHeadCrossAttention
    public let norm: LayerNorm
    public let ffn: MLP
    public let queryGrid: (h: Int, w: Int)
    public let teacherWidth: Int

    public init(studentChannels cs: Int, studentGrid: (h: Int, w: Int), teacherWidth ct: Int, queryGrid: (h: Int, w: Int),
                heads: Int, softmaxScale: Float = 5, selfQuery: Bool, rng: inout RandomGenerator) {
        projStudent = [Conv2d(cs, cs, kernel: 3, padding: 1, rng: &rng), BatchNorm2d(cs)]
        posEmbed = parameter([1, cs, studentGrid.h, studentGrid.w], Init.truncatedNormal(std: 0.02), rng: &rng)
        query = selfQuery ? parameter([queryGrid.h * queryGrid.w, ct], Init.normal(std: 1), rng: &rng) : nil
        projPos = Conv2d(ct, ct, kernel: 1, rng: &rng)
        attention = MultiHeadCrossAttention(queryDim: ct, keyDim: cs, dim: ct, heads: heads, extraScale: softmaxScale, rng: &rng)
        norm = LayerNorm(ct)
        ffn = MLP(ct, hidden: 4 * ct, activation: .relu, rng: &rng)
        self.queryGrid = queryGrid
        teacherWidth = ct
    }

    /// x [N, Cs, H, W]; queries [N, Hq*Wq, Ct] or nil for the learnable table.
    public func callAsFunction(_ x: Tensor, queries: Tensor? = nil) -> Tensor {
        let n = x.shape[0], cs = x.shape[1], hw = x.shape[2] * x.shape[3]
        let conv = projStudent[0] as! Conv2d, bn = projStudent[1] as! BatchNorm2d
        let stem = bn(conv(x)).relu() + posEmbed
        let keys = stem.reshaped([n, cs, hw]).transposed(1, 2)  // [N, HW, Cs]
        let (qh, qw) = queryGrid, ct = teacherWidth
        var q0: Tensor
        if let queries {
            precondition(queries.shape == [n, qh * qw, ct], "CAP queries \(queries.shape), expected [\(n), \(qh * qw), \(ct)]")
            q0 = queries
        } else {
            guard let table = query else { fatalError("CAP built without a query table needs queries") }
            q0 = table.reshaped([1, qh * qw, ct])
        }
        let b = q0.shape[0]
        let qMap = q0.transposed(1, 2).reshaped([b, ct, qh, qw])
        var qTokens = projPos(qMap).relu().reshaped([b, ct, qh * qw]).transposed(1, 2)  // [B, L, Ct]
        if b != n { qTokens = qTokens + Tensor(zeros: [n, qh * qw, ct]) }  // the shared table, for every image
        let out = attention(queries: qTokens, keysValues: keys)
        let y = norm(out)
        return y + ffn(y)
    }
}
