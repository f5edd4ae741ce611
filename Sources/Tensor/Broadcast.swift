/// Broadcasting rules (NumPy/PyTorch): shapes align from the right; a size-1 axis stretches.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let r = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        precondition(da == db || da == 1 || db == 1, "cannot broadcast \(a) with \(b)")
        out[i] = Swift.max(da, db)
    }
    return out
}

/// Element strides of `shape` seen inside `outShape` (0 on broadcast axes).
func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let r = outShape.count
    var strides = [Int](repeating: 0, count: r)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        let o = i + (r - shape.count)
        strides[o] = shape[i] == 1 && outShape[o] != 1 ? 0 : s
        s *= shape[i]
    }
    return strides
}

/// Visits the output rows `rows` (indices over all axes but the last) of `outShape` in
/// row-major order with the matching offsets into two broadcast inputs; the last axis
/// runs in the inner loop.
@inline(__always)
func forEachBroadcast(_ outShape: [Int], _ sa: [Int], _ sb: [Int], rows: Range<Int>? = nil,
                      _ inner: (_ outOffset: Int, _ aOffset: Int, _ bOffset: Int, _ n: Int, _ aStride: Int, _ bStride: Int) -> Void) {
    let r = outShape.count
    if r == 0 { inner(0, 0, 0, 1, 0, 0); return }
    let n = outShape[r - 1]
    let rows = rows ?? 0..<outShape.dropLast().reduce(1, *)
    var idx = [Int](repeating: 0, count: r)
    var ao = 0, bo = 0
    var rem = rows.lowerBound
    for d in stride(from: r - 2, through: 0, by: -1) {
        idx[d] = rem % outShape[d]; rem /= outShape[d]
        ao += idx[d] * sa[d]; bo += idx[d] * sb[d]
    }
    for o in rows {
        inner(o * n, ao, bo, n, sa[r - 1], sb[r - 1])
        var d = r - 2
        while d >= 0 {
            idx[d] += 1
            ao += sa[d]; bo += sb[d]
            if idx[d] < outShape[d] { break }
            ao -= sa[d] * outShape[d]; bo -= sb[d] * outShape[d]
            idx[d] = 0
            d -= 1
        }
    }
}

/// Rows of `shape` (all axes but the last) per parallel chunk: about 32k elements.
func broadcastRowGrain(_ shape: [Int]) -> Int { Swift.max(1, 32768 / Swift.max(1, shape.last ?? 1)) }

extension Tensor {
    /// Sums a broadcast gradient back to `target` shape (the backward of broadcasting).
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor(zeros: target)
        let so = broadcastStrides(target, to: shape)
        let sSelf = broadcastStrides(shape, to: shape)
        let src = pointer
        // Chunks of rows may meet the same target element: partial sums per chunk (one
        // chunk sums straight into the zeroed output).
        let rows = shape.dropLast().reduce(1, *)
        let chunks = parallelChunkCount(rows, grain: broadcastRowGrain(shape))
        let partials = chunks == 1 ? nil : ChunkPartials(chunks: chunks, width: out.count)
        parallelChunks(rows, chunks: chunks) { c, range in
            let dst = partials?.buffer(c) ?? out.pointer
            forEachBroadcast(shape, sSelf, so, rows: range) { oo, _, bo, n, _, bs in
                if bs == 0 {
                    var acc: Float = 0
                    for i in 0..<n { acc += src[oo + i] }
                    dst[bo] += acc
                } else {
                    for i in 0..<n { dst[bo + i * bs] += src[oo + i] }
                }
            }
        }
        partials?.addInOrder(into: out.pointer)
        return out
    }
}
