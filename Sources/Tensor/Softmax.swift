import CNative
import Foundation

/// Row-wise softmax of [rows, n] into `out` (max-shifted for stability).
@inline(__always)
func softmaxRows(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    parallelFor(rows, grain: 32) { r in
        skd_softmax_rows(x + r.lowerBound * n, out + r.lowerBound * n, r.count, n)
    }
}

extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let n = shape[rank - 1], rows = count / n
        let out = Tensor.empty(shape)
        let py = out.pointer
        softmaxRows(pointer, py, rows: rows, n: n)
        return out.record("softmax", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                parallelFor(rows, grain: 32) { r in
                    let o = r.lowerBound * n
                    skd_softmax_backward_rows(py + o, pg + o, pd + o, r.count, n)
                }
            }
        }
    }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let n = shape[rank - 1], rows = count / n
        let out = Tensor.empty(shape)
        let px = pointer, po = out.pointer
        parallelFor(rows, grain: 32) { r in
            for row in r {
                let s = px + row * n, o = po + row * n
                var mx = -Float.infinity
                for i in 0..<n where s[i] > mx { mx = s[i] }
                var z: Float = 0
                for i in 0..<n { z += Foundation.exp(s[i] - mx) }
                let lz = mx + Foundation.log(z)
                for i in 0..<n { o[i] = s[i] - lz }
            }
        }
        return out.record("log_softmax", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                for row in 0..<rows {
                    var sg: Float = 0
                    for i in 0..<n { sg += pg[row * n + i] }
                    for i in 0..<n { pd[row * n + i] += pg[row * n + i] - Foundation.exp(po[row * n + i]) * sg }
                }
            }
        }
    }

    /// Mean cross-entropy of logits [N, C] against class indices, with PyTorch's label
    /// smoothing: target = (1 - eps) * onehot + eps / C.
    public func crossEntropy(labels: [Int], labelSmoothing eps: Float = 0) -> Tensor {
        let c = shape[rank - 1], rows = count / c
        precondition(labels.count == rows, "crossEntropy: \(labels.count) labels for \(rows) rows")
        for l in labels { precondition(l >= 0 && l < c, "crossEntropy: label \(l) outside 0..<\(c)") }
        var targets = [Float](repeating: eps / Float(c), count: rows * c)
        for (r, l) in labels.enumerated() { targets[r * c + l] += 1 - eps }
        return crossEntropy(softTargets: Tensor(shape: [rows, c], values: targets))
    }

    /// Mean over rows of -sum_c q_c log softmax(x)_c for soft targets q [N, C]
    /// (Mixup/CutMix labels; the KD term with softmax(teacher / T) as q).
    public func crossEntropy(softTargets q: Tensor) -> Tensor {
        let c = shape[rank - 1], rows = count / c
        precondition(q.count == count, "crossEntropy: targets \(q.shape) for logits \(shape)")
        if let m = Tensor.metaResult([self, q], []) { return m }
        let p = Tensor.empty([rows, c])
        softmaxRows(pointer, p.pointer, rows: rows, n: c)
        let px = pointer, pq = q.pointer
        var total: Double = 0
        for row in 0..<rows {
            var mx = -Float.infinity
            for i in 0..<c where px[row * c + i] > mx { mx = px[row * c + i] }
            var z: Double = 0
            for i in 0..<c { z += Foundation.exp(Double(px[row * c + i] - mx)) }
            let lz = Double(mx) + Foundation.log(z)
            for i in 0..<c { total -= Double(pq[row * c + i]) * (Double(px[row * c + i]) - lz) }
        }
        let out = Tensor(shape: [], values: [Float(total / Double(rows))])
        let x = self
        return out.record("cross_entropy", [x, q]) { g in
            let scale = g.scalar / Float(rows)
            let pp = p.pointer  // keeps the probabilities alive with the graph
            if x.requiresGrad {
                x.accumulateGrad { pd in
                    for row in 0..<rows {
                        var sq: Float = 0
                        for i in 0..<c { sq += pq[row * c + i] }
                        for i in 0..<c { pd[row * c + i] += scale * (pp[row * c + i] * sq - pq[row * c + i]) }
                    }
                }
            }
            if q.requiresGrad {
                q.accumulateGrad { pd in
                    for row in 0..<rows {
                        var mx = -Float.infinity
                        for i in 0..<c where px[row * c + i] > mx { mx = px[row * c + i] }
                        var z: Float = 0
                        for i in 0..<c { z += Foundation.exp(px[row * c + i] - mx) }
                        let lz = mx + Foundation.log(z)
                        for i in 0..<c { pd[row * c + i] -= scale * (px[row * c + i] - lz) }
                    }
                }
            }
        }
    }
}
