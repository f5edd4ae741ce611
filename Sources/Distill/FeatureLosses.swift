import Foundation
import Tensor

/// Feature-mimicking losses of ScaleKD's DFM and of FD (docs/method.md sections 2 and 5).
/// Inputs are token tensors [N, L, C] with L = H * W in row-major grid order.
public enum FeatureLoss {
    /// sum over positions of || x/|x| - y/|y| ||^2 over channels, divided by N.
    public static func normalizedMSE(_ student: Tensor, _ teacher: Tensor) -> Tensor {
        precondition(student.shape == teacher.shape, "feature loss: student \(student.shape) vs teacher \(teacher.shape)")
        let d = student.l2Normalized(axis: -1) - teacher.l2Normalized(axis: -1)
        return d.squared().sum() * (1 / Float(student.shape[0]))
    }

    /// Removes each channel's direct (0,0) DCT component: DCT-II over the grid, zero
    /// the DC coefficient, inverse DCT. Tokens [N, L, C] with L = h*w -> same shape.
    public static func removeDirectComponent(_ tokens: Tensor, grid: (h: Int, w: Int), method: DCTMethod = .matrix) -> Tensor {
        let n = tokens.shape[0], c = tokens.shape[2]
        let map = tokens.transposed(1, 2).reshaped([n, c, grid.h, grid.w])
        var mask = [Float](repeating: 1, count: grid.h * grid.w)
        mask[0] = 0
        let filtered = (map.dct2d(method: method) * Tensor(shape: [grid.h, grid.w], values: mask)).idct2d(method: method)
        return filtered.reshaped([n, c, grid.h * grid.w]).transposed(1, 2)
    }

    /// The same result by subtracting each channel's spatial mean (what zeroing the DC
    /// coefficient of an orthonormal DCT does); used to cross-check the DCT route.
    public static func subtractSpatialMean(_ tokens: Tensor) -> Tensor {
        tokens - tokens.mean(axis: 1, keepDims: true)
    }

    /// DFM's spatial ("direct") view.
    public static func spatial(_ student: Tensor, _ teacher: Tensor) -> Tensor { normalizedMSE(student, teacher) }

    /// DFM's frequency ("alternative components") view: both sides DC-removed first. Zeroing
    /// the (0,0) coefficient of an orthonormal DCT subtracts each channel's spatial mean, so
    /// no grid is needed; `removeDirectComponent` is the DCT route a test checks it against.
    public static func frequency(_ student: Tensor, _ teacher: Tensor) -> Tensor {
        normalizedMSE(subtractSpatialMean(student), subtractSpatialMean(teacher))
    }
}

/// Map [N, C, H, W] -> tokens [N, H*W, C].
public func tokens(of map: Tensor) -> Tensor {
    let (n, c, h, w) = (map.shape[0], map.shape[1], map.shape[2], map.shape[3])
    return map.reshaped([n, c, h * w]).transposed(1, 2)
}

/// Tokens [N, H*W, C] -> map [N, C, H, W].
public func map(of tokens: Tensor, grid: (h: Int, w: Int)) -> Tensor {
    let (n, l, c) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
    precondition(l == grid.h * grid.w, "\(l) tokens do not fill a \(grid.h)x\(grid.w) grid")
    return tokens.transposed(1, 2).reshaped([n, c, grid.h, grid.w])
}
