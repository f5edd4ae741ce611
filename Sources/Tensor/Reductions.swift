import Foundation

/// Views a reduction over `axis` as [outer, n, inner].
private func splitAround(_ shape: [Int], _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

extension Tensor {
    /// Sum of all elements (a scalar, shape []).
    public func sum() -> Tensor {
        if let m = Tensor.metaResult([self], []) { return m }
        let n = count, p = pointer
        // Per-chunk partial sums combined in order: deterministic for a thread count.
        var partial = [Double](repeating: 0, count: Swift.max(1, Parallel.threads))
        let per = (n + partial.count - 1) / Swift.max(partial.count, 1)
        partial.withUnsafeMutableBufferPointer { pp in
            let base = pp.baseAddress!
            parallelForEach(pp.count) { c in
                var acc: Double = 0
                let lo = c * per, hi = Swift.min(n, lo + per)
                if lo < hi { for i in lo..<hi { acc += Double(p[i]) } }
                base[c] = acc
            }
        }
        let out = Tensor(shape: [], values: [Float(partial.reduce(0, +))])
        return out.record("sum", [self]) { g in
            self.accumulateGrad(Tensor(shape: self.shape, repeating: g.scalar), owned: true)
        }
    }

    public func mean() -> Tensor { sum() * (1 / Float(count)) }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxis(axis)
        let (outer, n, inner) = splitAround(shape, ax)
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        if let m = Tensor.metaResult([self], outShape) { return m }
        let out = Tensor(zeros: outShape)
        let src = pointer, dst = out.pointer
        parallelFor(outer, grain: 1) { r in
            for o in r {
                for j in 0..<n {
                    let s = src + (o * n + j) * inner, d = dst + o * inner
                    for i in 0..<inner { d[i] += s[i] }
                }
            }
        }
        return out.record("sum_axis", [self]) { g in
            let gi = Tensor.empty(self.shape)
            let pg = g.pointer, pd = gi.pointer
            for o in 0..<outer { for j in 0..<n { (pd + (o * n + j) * inner).update(from: pg + o * inner, count: inner) } }
            self.accumulateGrad(gi, owned: true)
        }
    }

    /// Sum over several axes.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let sorted = axes.map(normalizedAxis).sorted(by: >)
        var t = self
        for a in sorted { t = t.sum(axis: a, keepDims: true) }
        if keepDims { return t }
        return t.reshaped(shape.enumerated().filter { !sorted.contains($0.offset) }.map(\.element))
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        sum(axis: axis, keepDims: keepDims) * (1 / Float(size(axis)))
    }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { size($0) }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(n))
    }

    /// Maximum over one axis; the gradient goes to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxis(axis)
        let (outer, n, inner) = splitAround(shape, ax)
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        if let m = Tensor.metaResult([self], outShape) { return m }
        let out = Tensor.empty(outShape)
        var argmax = [Int32](repeating: 0, count: outer * inner)
        let src = pointer, dst = out.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = -Float.infinity, bj = 0
                    for j in 0..<n {
                        let v = src[(o * n + j) * inner + i]
                        if j == 0 || v > best { best = v; bj = j }
                    }
                    dst[o * inner + i] = best
                    am[o * inner + i] = Int32(bj)
                }
            }
        }
        return out.record("max_axis", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                for o in 0..<outer { for i in 0..<inner {
                    pd[(o * n + Int(argmax[o * inner + i])) * inner + i] += pg[o * inner + i]
                } }
            }
        }
    }

    /// Index of the maximum along the last axis (no gradient), e.g. predicted classes.
    public func argmaxLastAxis() -> [Int] {
        let n = shape.last!, rows = count / n, p = pointer
        return (0..<rows).map { r in
            var best = -Float.infinity, bj = 0
            for j in 0..<n where p[r * n + j] > best { best = p[r * n + j]; bj = j }
            return bj
        }
    }
}
