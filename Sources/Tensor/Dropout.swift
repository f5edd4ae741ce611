import Foundation

extension Tensor {
    /// Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).
    public func dropout(_ p: Float, training: Bool, rng: inout RandomGenerator) -> Tensor {
        if !training || p == 0 || isMeta { return self }
        var mask = [Float](repeating: 0, count: count)
        let keep = 1 / (1 - p)
        for i in 0..<count { mask[i] = rng.nextFloat() < p ? 0 : keep }
        return self * Tensor(shape: shape, values: mask)
    }

    /// Stochastic depth: drop a whole sample's residual branch (axis 0) with probability p.
    public func dropPath(_ p: Float, training: Bool, rng: inout RandomGenerator) -> Tensor {
        if !training || p == 0 || isMeta { return self }
        let n = shape[0]
        var mask = [Float](repeating: 0, count: n)
        let keep = 1 / (1 - p)
        for i in 0..<n { mask[i] = rng.nextFloat() < p ? 0 : keep }
        return self * Tensor(shape: [n] + [Int](repeating: 1, count: rank - 1), values: mask)
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
