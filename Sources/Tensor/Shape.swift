import CNative
import Foundation

extension Tensor {
    /// Same data, new shape (a view sharing storage). One axis may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            s[i] = known == 0 ? 0 : count / known
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let out = Tensor(shape: s, storage: storage)
        return out.record("reshape", [self]) { g in
            // g belongs to this op's output alone and is released after this call: adopt it.
            self.accumulateGrad(Tensor(shape: self.shape, storage: g.storage), owned: true)
        }
    }

    public func flattened(from axis: Int = 1) -> Tensor {
        let a = normalizedAxis(axis)
        return reshaped(Array(shape[..<a]) + [shape[a...].reduce(1, *)])
    }

    /// Copy with axes reordered: out.shape[i] = shape[order[i]].
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "bad permutation \(order) for \(shape)")
        if order == Array(0..<rank) { return reshaped(shape) }
        let outShape = order.map { shape[$0] }
        if let m = Tensor.metaResult([self], outShape) { return m }
        let out = Tensor.empty(outShape)
        permuteCopy(from: pointer, shape: shape, order: order, to: out.pointer)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return out.record("permute", [self]) { g in
            let gi = Tensor.empty(self.shape)
            permuteCopy(from: g.pointer, shape: outShape, order: inverse, to: gi.pointer)
            self.accumulateGrad(gi, owned: true)
        }
    }

    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(a), normalizedAxis(b))
        return permuted(order)
    }

    /// Elements start..<end along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) out of \(shape) on axis \(ax)")
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *), n = shape[ax], m = range.count
        var outShape = shape
        outShape[ax] = m
        if let mt = Tensor.metaResult([self], outShape) { return mt }
        let out = Tensor.empty(outShape)
        let src = pointer, dst = out.pointer
        // Parallel over outer blocks (there can be ~10^5 short ones).
        parallelBlocks(outer, floatsEach: m * inner) { o in
            (dst + o * m * inner).update(from: src + (o * n + range.lowerBound) * inner, count: m * inner)
        }
        return out.record("slice", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                parallelBlocks(outer, floatsEach: m * inner) { o in
                    let d = pd + (o * n + range.lowerBound) * inner, s = pg + o * m * inner
                    for i in 0..<(m * inner) { d[i] += s[i] }
                }
            }
        }
    }

    /// Joins tensors along `axis` (all other axes equal).
    public static func concat(_ ts: [Tensor], axis: Int) -> Tensor {
        precondition(!ts.isEmpty)
        let ax = ts[0].normalizedAxis(axis)
        let outer = ts[0].shape[..<ax].reduce(1, *), inner = ts[0].shape[(ax + 1)...].reduce(1, *)
        let sizes = ts.map { $0.shape[ax] }
        for t in ts {
            precondition(t.rank == ts[0].rank && Array(t.shape[..<ax]) == Array(ts[0].shape[..<ax])
                         && Array(t.shape[(ax + 1)...]) == Array(ts[0].shape[(ax + 1)...]), "concat: shapes \(ts.map(\.shape))")
        }
        let total = sizes.reduce(0, +)
        var outShape = ts[0].shape
        outShape[ax] = total
        if let m = Tensor.metaResult(ts, outShape) { return m }
        let out = Tensor.empty(outShape)
        let dst = out.pointer
        var offset = 0
        for (t, m) in zip(ts, sizes) {
            let src = t.pointer, start = offset
            // Parallel over outer blocks, as slice.
            parallelBlocks(outer, floatsEach: m * inner) { o in
                (dst + (o * total + start) * inner).update(from: src + o * m * inner, count: m * inner)
            }
            offset += m
        }
        return out.record("concat", ts) { g in
            var off = 0
            for (t, m) in zip(ts, sizes) {
                if t.requiresGrad {
                    let start = off
                    t.accumulateGrad { pd in
                        let pg = g.pointer
                        parallelBlocks(outer, floatsEach: m * inner) { o in
                            let s = pg + (o * total + start) * inner, d = pd + o * m * inner
                            for i in 0..<(m * inner) { d[i] += s[i] }
                        }
                    }
                }
                off += m
            }
        }
    }

    /// [B, L, parts * C] -> `parts` tensors [B, heads, L, C / heads]: attention's q/k/v split
    /// into heads in one pass (a slice and a permute each copied the activations; PyTorch
    /// takes both as views).
    public func splitHeads(parts: Int, heads: Int) -> [Tensor] {
        precondition(rank == 3 && shape[2] % (parts * heads) == 0, "splitHeads: \(shape) is not [B, L, \(parts) x \(heads) heads x d]")
        let (b, l) = (shape[0], shape[1]), c = shape[2] / parts, d = c / heads
        // Block o = (batch, head, token) of d floats comes from row (batch, token) at part p, head h.
        return (0..<parts).map { p in
            gatheredBlocks("split_heads", [b, heads, l, d], floatsEach: d) { o in
                let t = o % l, h = (o / l) % heads, bi = o / (l * heads)
                return (bi * l + t) * parts * c + p * c + h * d
            }
        }
    }

    /// [B, T, C] -> [B, T, C] with out[b, t] = self[b, order[t]], `order` a permutation of the
    /// T tokens: Swin's (shifted) window partition and its reverse in one copy each (a roll
    /// by slices and concats, then a permute, copied the tokens five times).
    public func permutedTokens(_ order: [Int]) -> Tensor {
        precondition(rank == 3 && order.count == shape[1], "permutedTokens: \(order.count) indices for \(shape), [B, T, C]")
        let (t, c) = (shape[1], shape[2])
        var seen = [Bool](repeating: false, count: t)
        for i in order {
            precondition(i >= 0 && i < t && !seen[i], "permutedTokens: the order is not a permutation of \(t) tokens")
            seen[i] = true
        }
        return gatheredBlocks("permute_tokens", shape, floatsEach: c) { r in (r - r % t + order[r % t]) * c }
    }

    /// A tensor of `shape` whose block o (`floatsEach` contiguous floats) is this tensor's
    /// floats from offset source(o); the backward adds each block's gradient back there.
    /// `source` must map blocks to disjoint ranges, so the backward's blocks never race.
    private func gatheredBlocks(_ name: String, _ shape: [Int], floatsEach: Int, source: @escaping (Int) -> Int) -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let x = self, src = pointer, out = Tensor.empty(shape), dst = out.pointer, blocks = out.count / floatsEach
        parallelBlocks(blocks, floatsEach: floatsEach) { o in (dst + o * floatsEach).update(from: src + source(o), count: floatsEach) }
        return out.record(name, [x]) { g in
            let pg = g.pointer
            x.accumulateGrad { pdx in
                parallelBlocks(blocks, floatsEach: floatsEach) { o in
                    let d = pdx + source(o), s = pg + o * floatsEach
                    for i in 0..<floatsEach { d[i] += s[i] }
                }
            }
        }
    }

    /// Zero padding of the last two axes (top, bottom, left, right).
    public func padded2D(top: Int, bottom: Int, left: Int, right: Int) -> Tensor {
        precondition(rank >= 2)
        let h = shape[rank - 2], w = shape[rank - 1]
        let ho = h + top + bottom, wo = w + left + right
        let planes = count / Swift.max(h * w, 1)
        if let m = Tensor.metaResult([self], Array(shape.dropLast(2)) + [ho, wo]) { return m }
        let out = Tensor(zeros: Array(shape.dropLast(2)) + [ho, wo])
        let src = pointer, dst = out.pointer
        for p in 0..<planes {
            for y in 0..<h { (dst + p * ho * wo + (y + top) * wo + left).update(from: src + p * h * w + y * w, count: w) }
        }
        return out.record("pad2d", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                for p in 0..<planes { for y in 0..<h {
                    let s = pg + p * ho * wo + (y + top) * wo + left, d = pd + p * h * w + y * w
                    for x in 0..<w { d[x] += s[x] }
                } }
            }
        }
    }
}

/// Strided copy implementing a permutation; the innermost output axis runs fastest.
func permuteCopy(from src: UnsafePointer<Float>, shape: [Int], order: [Int], to dst: UnsafeMutablePointer<Float>) {
    if let (batch, rows, cols) = batchedTranspose(shape: shape, order: order) {
        // e.g. NCHW <-> NHWC: [batch, rows, cols] -> [batch, cols, rows] in cache tiles (the
        // row loop below would read the source element by element at a large stride).
        let tile = 32, rowTiles = (rows + tile - 1) / tile
        parallelFor(batch * rowTiles, grain: 1) { r in
            for t in r {
                let b = t / rowTiles, r0 = (t % rowTiles) * tile
                skd_transpose_block(src + b * rows * cols, dst + b * rows * cols, rows, cols, r0, Swift.min(rows, r0 + tile))
            }
        }
        return
    }
    let r = shape.count
    var inStrides = [Int](repeating: 1, count: r)
    for i in stride(from: r - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
    let outShape = order.map { shape[$0] }
    let strides = order.map { inStrides[$0] }
    let n = outShape[r - 1], sLast = strides[r - 1]
    let outer = outShape.dropLast().reduce(1, *)
    // Parallel over outer rows: each row's source offset is computed from its index.
    parallelFor(outer, grain: 256) { rows in
        var idx = [Int](repeating: 0, count: r)
        var rem = rows.lowerBound
        var off = 0
        for d in stride(from: r - 2, through: 0, by: -1) {
            idx[d] = rem % outShape[d]; rem /= outShape[d]; off += idx[d] * strides[d]
        }
        for row in rows {
            let o = dst + row * n
            if sLast == 1 { o.update(from: src + off, count: n) } else { for i in 0..<n { o[i] = src[off + i * sLast] } }
            var d = r - 2
            while d >= 0 {
                idx[d] += 1; off += strides[d]
                if idx[d] < outShape[d] { break }
                off -= strides[d] * outShape[d]; idx[d] = 0; d -= 1
            }
        }
    }
}

/// Whether permuting `shape` by `order` is, after merging input axes that stay adjacent,
/// a transpose of the last two of [batch, rows, cols] (batch may be 1).
func batchedTranspose(shape: [Int], order: [Int]) -> (batch: Int, rows: Int, cols: Int)? {
    // Runs of output axes that are consecutive input axes (size-1 axes do not matter).
    var groups: [(first: Int, last: Int, size: Int)] = []
    for a in order where shape[a] != 1 {
        if let g = groups.last, a == g.last + 1 {
            groups[groups.count - 1].last = a
            groups[groups.count - 1].size *= shape[a]
        } else {
            groups.append((a, a, shape[a]))
        }
    }
    if groups.count == 2 && groups[0].first > groups[1].first { return (1, groups[1].size, groups[0].size) }
    if groups.count == 3 && groups[0].first < groups[2].first && groups[2].first < groups[1].first {
        return (groups[0].size, groups[2].size, groups[1].size)
    }
    return nil
}
