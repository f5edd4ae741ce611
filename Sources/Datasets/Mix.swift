import Foundation
import Tensor

/// timm's Mixup/CutMix in batch mode: one mixing weight per batch, sample i mixed with
/// sample n-1-i. Targets become soft labels lam * onehot(y_i) + (1 - lam) * onehot(y_{n-1-i});
/// label smoothing is left to the loss.
public struct MixConfig: Codable, Equatable, Sendable {
    /// Beta(alpha, alpha) for Mixup; 0 disables it.
    public var mixupAlpha: Float
    /// Beta(alpha, alpha) for CutMix; 0 disables it.
    public var cutmixAlpha: Float
    /// Probability that a batch is mixed at all.
    public var probability: Float
    /// With both enabled, probability of CutMix instead of Mixup.
    public var switchProbability: Float

    public init(mixupAlpha: Float = 0.8, cutmixAlpha: Float = 1.0, probability: Float = 1.0,
                switchProbability: Float = 0.5) {
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
        self.probability = probability
        self.switchProbability = switchProbability
    }

    /// Mixes `images` (n x size*size, normalized) in place; returns n x classes soft labels.
    public func apply(images: inout [Float], labels: [Int], size: Int, classes: Int,
                      rng: inout RandomGenerator) -> [Float] {
        let n = labels.count, pixels = size * size
        var lam: Float = 1
        var useCutmix = false
        if mixupAlpha > 0 || cutmixAlpha > 0 {
            let mixLam: Float
            if mixupAlpha > 0 && cutmixAlpha > 0 {
                useCutmix = rng.nextFloat() < switchProbability
                mixLam = Self.beta(useCutmix ? cutmixAlpha : mixupAlpha, rng: &rng)
            } else if mixupAlpha > 0 {
                mixLam = Self.beta(mixupAlpha, rng: &rng)
            } else {
                useCutmix = true
                mixLam = Self.beta(cutmixAlpha, rng: &rng)
            }
            if rng.nextFloat() < probability { lam = mixLam }
        }
        if lam < 1 {
            let original = images
            if useCutmix {
                let cut = (1 - lam).squareRoot()
                let ch = Int(Float(size) * cut), cw = Int(Float(size) * cut)
                let cy = rng.nextInt(below: size), cx = rng.nextInt(below: size)
                let y0 = min(max(cy - ch / 2, 0), size), y1 = min(max(cy + ch / 2, 0), size)
                let x0 = min(max(cx - cw / 2, 0), size), x1 = min(max(cx + cw / 2, 0), size)
                for i in 0..<n {
                    let j = n - 1 - i
                    for y in y0..<y1 {
                        for x in x0..<x1 { images[i * pixels + y * size + x] = original[j * pixels + y * size + x] }
                    }
                }
                lam = 1 - Float((y1 - y0) * (x1 - x0)) / Float(pixels)
            } else {
                for i in 0..<n {
                    let j = n - 1 - i
                    for p in 0..<pixels {
                        images[i * pixels + p] = original[i * pixels + p] * lam + original[j * pixels + p] * (1 - lam)
                    }
                }
            }
        }
        var soft = [Float](repeating: 0, count: n * classes)
        for i in 0..<n {
            soft[i * classes + labels[i]] += lam
            soft[i * classes + labels[n - 1 - i]] += 1 - lam
        }
        return soft
    }

    /// Beta(a, a) as X / (X + Y) with X, Y ~ Gamma(a).
    static func beta(_ a: Float, rng: inout RandomGenerator) -> Float {
        let x = gamma(a, rng: &rng), y = gamma(a, rng: &rng)
        return x + y > 0 ? x / (x + y) : 0.5
    }

    /// Marsaglia-Tsang; shape < 1 via Gamma(a + 1) * U^(1/a).
    static func gamma(_ a: Float, rng: inout RandomGenerator) -> Float {
        if a < 1 {
            let u = max(rng.nextFloat(), 1e-12)
            return gamma(a + 1, rng: &rng) * pow(u, 1 / a)
        }
        let d = a - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Float, v: Float
            repeat {
                x = rng.nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = rng.nextFloat()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(max(u, 1e-30)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }
}
