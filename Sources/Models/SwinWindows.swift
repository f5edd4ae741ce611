import Tensor

// Window helpers of the Swin Transformer. Tokens are kept channels-last, [B, H, W, C], as
// timm >= 0.9 does. Each helper is one permutation of an image's H*W tokens (permutedTokens),
// so a shifted block's roll and partition cost one copy, not a roll by slices and concats
// plus a permute.

/// Row-major grid index of the token that torch.roll(x, (roll, roll), (1, 2)) puts at (i, j).
private func rolledSource(_ i: Int, _ j: Int, height h: Int, width wd: Int, roll: Int) -> Int {
    (((i - roll) % h + h) % h) * wd + ((j - roll) % wd + wd) % wd
}

/// The grid's tokens in window order after rolling the grid by `roll`: w x w windows
/// row-major over the window grid, tokens row-major inside a window (timm's
/// `window_partition` of `torch.roll`); entry t is the input token that lands at t.
public func windowOrder(height h: Int, width wd: Int, window w: Int, roll: Int = 0) -> [Int] {
    precondition(h % w == 0 && wd % w == 0, "window \(w) does not tile a \(h)x\(wd) grid")
    var order: [Int] = []
    order.reserveCapacity(h * wd)
    for wy in 0..<(h / w) { for wx in 0..<(wd / w) { for py in 0..<w { for px in 0..<w {
        order.append(rolledSource(wy * w + py, wx * w + px, height: h, width: wd, roll: roll))
    } } } }
    return order
}

func inversePermutation(_ order: [Int]) -> [Int] {
    var inverse = [Int](repeating: 0, count: order.count)
    for (t, i) in order.enumerated() { inverse[i] = t }
    return inverse
}

/// [B, H, W, C] -> [B * nW, w * w, C]: non-overlapping w x w windows, row-major over
/// the window grid (timm's `window_partition`).
public func windowPartition(_ x: Tensor, window w: Int) -> Tensor {
    ShiftedWindows(height: x.shape[1], width: x.shape[2], window: w, shift: 0).partition(x)
}

/// [B * nW, w * w, C] -> [B, H, W, C], the inverse of `windowPartition`.
public func windowReverse(_ windows: Tensor, window w: Int, height h: Int, width wd: Int) -> Tensor {
    ShiftedWindows(height: h, width: wd, window: w, shift: 0).reverse(windows)
}

/// torch.roll(x, shifts: (shift, shift), dims: (1, 2)) on [B, H, W, C]:
/// out[i, j] = x[(i - shift) mod H, (j - shift) mod W]. Swin shifts by -w/2 before the
/// attention of a shifted block and by +w/2 after it.
public func cyclicShift(_ x: Tensor, by shift: Int) -> Tensor {
    let (b, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let order = (0..<(h * wd)).map { rolledSource($0 / wd, $0 % wd, height: h, width: wd, roll: shift) }
    return x.reshaped([b, h * wd, c]).permutedTokens(order).reshaped(x.shape)
}

/// A (shifted) block's window partition and its reverse, each one token permutation:
/// partition(x) = windowPartition(cyclicShift(x, by: -shift)), reverse undoes it
/// (cyclicShift(windowReverse(y), by: shift)).
public struct ShiftedWindows: Sendable {
    public let height: Int, width: Int, window: Int, shift: Int
    private let order: [Int], inverse: [Int]

    public init(height: Int, width: Int, window: Int, shift: Int) {
        self.height = height; self.width = width; self.window = window; self.shift = shift
        order = windowOrder(height: height, width: width, window: window, roll: -shift)
        inverse = inversePermutation(order)
    }

    /// [B, H, W, C] -> [B * nW, w * w, C].
    public func partition(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == height && x.shape[2] == width, "window partition of \(height)x\(width) given \(x.shape)")
        let (b, c) = (x.shape[0], x.shape[3])
        return x.reshaped([b, height * width, c]).permutedTokens(order).reshaped([b * order.count / (window * window), window * window, c])
    }

    /// [B * nW, w * w, C] -> [B, H, W, C].
    public func reverse(_ windows: Tensor) -> Tensor {
        let c = windows.shape[2], b = windows.count / (height * width * c)
        return windows.reshaped([b, height * width, c]).permutedTokens(inverse).reshaped([b, height, width, c])
    }
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
