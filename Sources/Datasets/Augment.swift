import Foundation
import Tensor

/// Data augmentation for the two training strategies of the paper's Table 10, scaled to
/// 32x32 grey images.
///
/// Order (as timm's train transform): random crop + flip + RandAugment on raw [0, 1]
/// pixels (photometric ops such as solarize and posterize are defined on that range),
/// then normalization, then random erasing in normalized space (erased pixels are N(0, 1),
/// timm's "pixel" mode). Mixup/CutMix act on the normalized batch (see Mix.swift).
/// Everything draws from the sample's own generator, so a sample's augmentation depends
/// only on (seed, epoch, sample index).
public struct Augmentation: Codable, Equatable, Sendable {
    /// Random crop of the image size from the image zero-padded by this many pixels (0: off).
    public var cropPadding: Int
    public var horizontalFlip: Bool
    public var randAugment: RandAugmentConfig?
    /// Probability of erasing one random rectangle (timm RandomErasing, 0: off).
    public var randomErasing: Float
    /// Batch-level Mixup/CutMix; when set, batches carry soft labels.
    public var mix: MixConfig?

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, randAugment: RandAugmentConfig? = nil,
                randomErasing: Float = 0, mix: MixConfig? = nil) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.randAugment = randAugment
        self.randomErasing = randomErasing
        self.mix = mix
    }

    /// Evaluation: padding and normalization only.
    public static let none = Augmentation()

    /// Traditional strategy: random crop (padding 4) and horizontal flip, the 32x32 analog
    /// of RandomResizedCrop + flip.
    public static let traditional = Augmentation(cropPadding: 4, horizontalFlip: true)

    /// Advanced strategy: traditional plus RandAugment (2 ops, magnitude 9, std 0.5) and
    /// random erasing 0.25. No Mixup/CutMix, as in the released configs; set `mix` to add it.
    public static let advanced = Augmentation(cropPadding: 4, horizontalFlip: true,
                                              randAugment: RandAugmentConfig(), randomErasing: 0.25)

    public var producesSoftLabels: Bool { mix != nil }

    /// Augments one raw [0, 1] `size` x `size` image in place and normalizes it with
    /// (x - mean) / std. `scratch` must hold `size * size` floats.
    public func apply(to image: UnsafeMutableBufferPointer<Float>, size: Int, mean: Float, std: Float,
                      scratch: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator) {
        if cropPadding > 0 {
            // Cropping the padded image at offset (ox, oy) is a shift by (ox - p, oy - p).
            let dx = rng.nextInt(below: 2 * cropPadding + 1) - cropPadding
            let dy = rng.nextInt(below: 2 * cropPadding + 1) - cropPadding
            ImageOps.shift(image, size: size, dx: dx, dy: dy, scratch: scratch)
        }
        if horizontalFlip, rng.nextFloat() < 0.5 { ImageOps.flipHorizontal(image, size: size) }
        if let randAugment { randAugment.apply(to: image, size: size, scratch: scratch, rng: &rng) }
        let inv = 1 / std
        for i in image.indices { image[i] = (image[i] - mean) * inv }
        if randomErasing > 0 { Self.erase(image, size: size, probability: randomErasing, rng: &rng) }
    }

    /// timm RandomErasing (mode "pixel", one box, area 2%-33%, aspect 0.3-3.3, 10 attempts)
    /// on `channels` planes of `size` x `size` (CHW); each channel's pixels get their own N(0, 1).
    static func erase(_ image: UnsafeMutableBufferPointer<Float>, size: Int, channels: Int = 1, probability: Float,
                      rng: inout RandomGenerator) {
        guard rng.nextFloat() < probability else { return }
        let area = Float(size * size)
        let logRatio = (min: log(Float(0.3)), max: log(1 / Float(0.3)))
        for _ in 0..<10 {
            let target = (0.02 + rng.nextFloat() * (1.0 / 3.0 - 0.02)) * area
            let aspect = exp(logRatio.min + rng.nextFloat() * (logRatio.max - logRatio.min))
            let h = Int((target * aspect).squareRoot().rounded())
            let w = Int((target / aspect).squareRoot().rounded())
            guard w < size, h < size else { continue }
            let top = rng.nextInt(below: size - h + 1), left = rng.nextInt(below: size - w + 1)
            for c in 0..<channels {
                for y in top..<(top + h) {
                    for x in left..<(left + w) { image[(c * size + y) * size + x] = rng.nextNormal() }
                }
            }
            return
        }
    }
}
