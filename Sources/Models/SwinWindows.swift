import Tensor

// Window helpers of the Swin Transformer, as composites of reshape / permute / slice /
// concat (so their gradients come from those primitives). Tokens are kept
// channels-last, [B, H, W, C], as timm >= 0.9 does.

/// [B, H, W, C] -> [B * nW, w * w, C]: non-overlapping w x w windows, row-major over
/// the window grid (timm's `window_partition`).
public func windowPartition(_ x: Tensor, window w: Int) -> Tensor {
    let (b, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(h % w == 0 && wd % w == 0, "window \(w) does not tile a \(h)x\(wd) grid")
    return x.reshaped([b, h / w, w, wd / w, w, c])
        .permuted([0, 1, 3, 2, 4, 5])
        .reshaped([b * (h / w) * (wd / w), w * w, c])
}

/// [B * nW, w * w, C] -> [B, H, W, C], the inverse of `windowPartition`.
public func windowReverse(_ windows: Tensor, window w: Int, height h: Int, width wd: Int) -> Tensor {
    let c = windows.shape[2]
    let b = windows.shape[0] / ((h / w) * (wd / w))
    return windows.reshaped([b, h / w, wd / w, w, w, c])
        .permuted([0, 1, 3, 2, 4, 5])
        .reshaped([b, h, wd, c])
}

/// torch.roll(x, shifts: (shift, shift), dims: (1, 2)) on [B, H, W, C]:
/// out[i, j] = x[(i - shift) mod H, (j - shift) mod W]. Swin shifts by -w/2 before the
/// attention of a shifted block and by +w/2 after it.
public func cyclicShift(_ x: Tensor, by shift: Int) -> Tensor {
    var out = x
    for axis in 1...2 {
        let n = out.shape[axis]
        let k = ((shift % n) + n) % n
        if k == 0 { continue }
        out = Tensor.concat([out.sliced(axis: axis, (n - k)..<n), out.sliced(axis: axis, 0..<(n - k))], axis: axis)
    }
    return out
}

/// Index into the relative position bias table [(2w-1)^2, heads] for every (query, key)
/// pair of a w x w window, flattened row-major: [w^2 * w^2] (timm's
/// `relative_position_index`).
public func relativePositionIndex(window w: Int) -> [Int] {
    let n = w * w
    var index = [Int](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n {
            let dh = i / w - j / w + w - 1, dw = i % w - j % w + w - 1
            index[i * n + j] = dh * (2 * w - 1) + dw
        }
    }
    return index
}

/// The attention mask of shifted windows, [nW, w^2, w^2]: 0 where query and key come
/// from the same region of the cyclically shifted grid, -100 elsewhere (timm's
/// `attn_mask`). Regions: rows/columns [0, H-w), [H-w, H-s), [H-s, H).
public func shiftedWindowMask(height h: Int, width wd: Int, window w: Int, shift s: Int) -> Tensor {
    func region(_ i: Int, _ n: Int) -> Int { i < n - w ? 0 : (i < n - s ? 1 : 2) }
    let nh = h / w, nw = wd / w, n = w * w
    var values = [Float](repeating: 0, count: nh * nw * n * n)
    for wy in 0..<nh {
        for wx in 0..<nw {
            var ids = [Int](repeating: 0, count: n)
            for p in 0..<n {
                ids[p] = region(wy * w + p / w, h) * 3 + region(wx * w + p % w, wd)
            }
            let base = (wy * nw + wx) * n * n
            for i in 0..<n { for j in 0..<n where ids[i] != ids[j] { values[base + i * n + j] = -100 } }
        }
    }
    return Tensor(shape: [nh * nw, n, n], values: values)
}
