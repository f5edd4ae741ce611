import Foundation

/// The rows of a global batch that this process holds (data-parallel training; all of
/// them in one process). Per-sample random draws are made for the whole global batch and
/// each process keeps those of its rows, so it draws what one process alone would.
public struct BatchRows: Equatable, Sendable {
    public let range: Range<Int>
    public let total: Int

    public init(_ range: Range<Int>, of total: Int) {
        precondition(range.lowerBound >= 0 && range.upperBound <= total, "rows \(range) outside a batch of \(total)")
        self.range = range
        self.total = total
    }
}

extension Tensor {
    /// Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).
    public func dropout(_ p: Float, training: Bool, rng: inout RandomGenerator, rows: BatchRows? = nil) -> Tensor {
        if !training || p == 0 || isMeta { return self }
        let keep = 1 / (1 - p)
        let mask = Tensor.rowDraws(rows: shape[0], perRow: count / Swift.max(shape[0], 1), of: rows, rng: &rng)
            .map { $0 < p ? 0 : keep }
        return self * Tensor(shape: shape, values: mask)
    }

    /// Stochastic depth: drop a whole sample's residual branch (axis 0) with probability p.
    public func dropPath(_ p: Float, training: Bool, rng: inout RandomGenerator, rows: BatchRows? = nil) -> Tensor {
        if !training || p == 0 || isMeta { return self }
        let n = shape[0]
        let keep = 1 / (1 - p)
        let mask = Tensor.rowDraws(rows: n, perRow: 1, of: rows, rng: &rng).map { $0 < p ? 0 : keep }
        return self * Tensor(shape: [n] + [Int](repeating: 1, count: rank - 1), values: mask)
    }

    /// `perRow` uniform draws for each of `n` rows, drawn in row order for the whole global
    /// batch of `rows` (when given) and cut to its range.
    static func rowDraws(rows n: Int, perRow: Int, of rows: BatchRows?, rng: inout RandomGenerator) -> ArraySlice<Float> {
        let rows = rows ?? BatchRows(0..<n, of: n)
        precondition(rows.range.count == n, "\(n) rows, but this process holds rows \(rows.range) of \(rows.total)")
        let all = (0..<(rows.total * perRow)).map { _ in rng.nextFloat() }
        return all[(rows.range.lowerBound * perRow)..<(rows.range.upperBound * perRow)]
    }
}

extension Tensor {
    /// Rows of `self` [V, D] picked by `indices` -> [indices.count, D].
    public func embedding(_ indices: [Int]) -> Tensor {
        let v = shape[0], d = count / v
        if let m = Tensor.metaResult([self], [indices.count, d]) { return m }
        let out = Tensor.empty([indices.count, d])
        let pw = pointer, po = out.pointer
        for (r, i) in indices.enumerated() {
            precondition(i >= 0 && i < v, "embedding: index \(i) outside 0..<\(v)")
            (po + r * d).update(from: pw + i * d, count: d)
        }
        return out.record("embedding", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                for (r, i) in indices.enumerated() { for j in 0..<d { pd[i * d + j] += pg[r * d + j] } }
            }
        }
    }
}
