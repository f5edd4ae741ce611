import Foundation
import NN
import Tensor

/// The light CenterNet head: a 3x3 convolution and ReLU, then 1x1 convolutions to the
/// class heatmaps (logits), box sizes and center offsets, all on the backbone's stride-4 map.
public final class DetectionHead: Module {
    let trunk: Conv2d
    let heatmap: Conv2d
    let size: Conv2d
    let offset: Conv2d

    public init(inChannels: Int, hidden: Int, classes: Int, rng: inout RandomGenerator) {
        trunk = Conv2d(inChannels, hidden, kernel: 3, padding: 1, rng: &rng)
        heatmap = Conv2d(hidden, classes, kernel: 1, rng: &rng)
        size = Conv2d(hidden, 2, kernel: 1, rng: &rng)
        offset = Conv2d(hidden, 2, kernel: 1, rng: &rng)
        // CenterNet's prior: every cell starts at sigmoid(-2.19) = 0.1, so the focal loss of
        // the many background cells does not swamp the first steps.
        heatmap.bias!.fill(-2.19)
        super.init()
    }

    /// Heatmap logits [N, classes, g, g], sizes [N, 2, g, g] (cells), offsets [N, 2, g, g].
    public func callAsFunction(_ features: Tensor) -> (heatmap: Tensor, size: Tensor, offset: Tensor) {
        let h = trunk(features).relu()
        return (heatmap(h), size(h), offset(h))
    }
}

/// The per-pixel head: the stride-4 features reduced by a 1x1 convolution and upsampled
/// (nearest) to the canvas, joined with the canvas pixels (so edges are placed at pixel
/// precision, as UperNet's stride-4 level and final upsampling place them), a 3x3
/// convolution and ReLU, and a 1x1 convolution to background + class logits.
public final class SegmentationHead: Module {
    let reduce: Conv2d
    let fuse: Conv2d
    let classify: Conv2d
    public let factor: Int

    public init(inChannels: Int, hidden: Int, classes: Int, factor: Int, imageChannels: Int = 1, rng: inout RandomGenerator) {
        reduce = Conv2d(inChannels, hidden, kernel: 1, rng: &rng)
        fuse = Conv2d(hidden + imageChannels, hidden, kernel: 3, padding: 1, rng: &rng)
        classify = Conv2d(hidden, classes + 1, kernel: 1, rng: &rng)
        self.factor = factor
        super.init()
    }

    /// Logits [N, classes + 1, H, W] for canvases `image` [N, C, H, W].
    public func callAsFunction(_ features: Tensor, image: Tensor) -> Tensor {
        let up = upsampleNearest(reduce(features).relu(), factor: factor)
        return classify(fuse(Tensor.concat([up, image], axis: 1)).relu())
    }
}

/// Nearest-neighbour upsampling of [N, C, H, W] by an integer factor, as a broadcast
/// (each value repeated over a factor x factor block), so autograd sums the block's gradients.
public func upsampleNearest(_ x: Tensor, factor k: Int) -> Tensor {
    if k == 1 { return x }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let ones = Tensor(shape: [1, 1, 1, k, 1, k], repeating: 1)
    return (x.reshaped([n, c, h, 1, w, 1]) * ones).reshaped([n, c, h * k, w * k])
}

extension Tensor {
    /// log(sigmoid(x)), computed without overflow for large |x|; derivative 1 - sigmoid(x).
    public func logSigmoid() -> Tensor {
        map("log_sigmoid", { x in x < 0 ? x - Foundation.log1p(Foundation.exp(x)) : -Foundation.log1p(Foundation.exp(-x)) },
            { x, _ in 1 / (1 + Foundation.exp(x)) })
    }
}

/// The training losses of the two heads.
public enum DenseLosses {
    /// CenterNet's penalty-reduced focal loss (alpha 2, beta 4) over heatmap logits and
    /// Gaussian targets of the same shape, divided by the number of objects (at least 1).
    public static func focal(logits: Tensor, targets: Tensor, objects: Int) -> Tensor {
        let t = targets.values
        let positive = Tensor(shape: targets.shape, values: t.map { $0 == 1 ? 1 : 0 })
        let negativeWeight = Tensor(shape: targets.shape, values: t.map { $0 == 1 ? 0 : Foundation.pow(1 - $0, 4) })
        let p = logits.sigmoid()
        let positiveLoss = positive * (1 - p).squared() * logits.logSigmoid()
        let negativeLoss = negativeWeight * p.squared() * (-logits).logSigmoid()
        return -(positiveLoss + negativeLoss).sum() * (1 / Float(max(objects, 1)))
    }

    /// L1 over the center cells only (`centers` [N, 1, g, g] broadcast over the 2 channels),
    /// divided by the number of objects (at least 1).
    public static func centerL1(_ prediction: Tensor, _ target: Tensor, centers: Tensor, objects: Int) -> Tensor {
        ((prediction - target).abs() * centers).sum() * (1 / Float(max(objects, 1)))
    }

    /// Per-pixel cross-entropy of logits [N, K, H, W] against labels (N*H*W, class per pixel),
    /// class 0 (background) weighted 1 and the others `foregroundWeight`, normalised by the
    /// total weight.
    public static func weightedCrossEntropy(logits: Tensor, labels: [Int], foregroundWeight: Float) -> Tensor {
        let (n, k, h, w) = (logits.shape[0], logits.shape[1], logits.shape[2], logits.shape[3])
        precondition(labels.count == n * h * w, "\(labels.count) labels for \(n * h * w) pixels")
        let logp = logits.permuted([0, 2, 3, 1]).reshaped([n * h * w, k]).logSoftmax()
        var weights = [Float](repeating: 0, count: n * h * w * k)
        var total: Float = 0
        for (i, label) in labels.enumerated() {
            let wt: Float = label == 0 ? 1 : foregroundWeight
            weights[i * k + label] = wt
            total += wt
        }
        return -(logp * Tensor(shape: [n * h * w, k], values: weights)).sum() * (1 / total)
    }
}
