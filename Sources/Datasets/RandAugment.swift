import Foundation
import Tensor

/// The RandAugment ops that make sense for grey 32x32 images (timm's "increasing"
/// variants). Colour is meaningless on grey, and invert/solarize-add are left out because
/// they turn the black background white, which no test image has.
public enum RandAugmentOp: String, CaseIterable, Codable, Sendable {
    case identity, autoContrast, equalize, rotate, solarize, posterize
    case contrast, brightness, sharpness, shearX, shearY, translateX, translateY
}

/// timm's `rand-m9-mstd0.5-inc1`: `ops` ops chosen with replacement, each applied with
/// `probability`, magnitude drawn from N(magnitude, magnitudeStd) and clipped to
/// [0, magnitudeMax] on a 0-10 scale.
public struct RandAugmentConfig: Codable, Equatable, Sendable {
    public var ops: Int
    public var magnitude: Float
    public var magnitudeStd: Float
    public var magnitudeMax: Float
    public var probability: Float
    public var choices: [RandAugmentOp]

    public init(ops: Int = 2, magnitude: Float = 9, magnitudeStd: Float = 0.5, magnitudeMax: Float = 10,
                probability: Float = 0.5, choices: [RandAugmentOp] = RandAugmentOp.allCases) {
        self.ops = ops
        self.magnitude = magnitude
        self.magnitudeStd = magnitudeStd
        self.magnitudeMax = magnitudeMax
        self.probability = probability
        self.choices = choices
    }

    public func apply(to image: UnsafeMutableBufferPointer<Float>, size: Int,
                      scratch: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator) {
        guard !choices.isEmpty else { return }
        for _ in 0..<ops {
            let op = choices[rng.nextInt(below: choices.count)]
            guard rng.nextFloat() < probability else { continue }
            var m = magnitude
            if magnitudeStd > 0 { m += rng.nextNormal() * magnitudeStd }
            m = min(max(m, 0), magnitudeMax)
            Self.apply(op, level: m / 10, to: image, size: size, scratch: scratch, rng: &rng)
        }
    }

    /// One op at `level` in [0, 1] (magnitude / 10), with timm's ranges: rotate 30 degrees,
    /// shear 0.3, translate 45% of the side, enhance factors 1 +- 0.9, each randomly negated.
    public static func apply(_ op: RandAugmentOp, level: Float, to image: UnsafeMutableBufferPointer<Float>,
                             size: Int, scratch: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator) {
        func signed(_ v: Float) -> Float { rng.nextFloat() < 0.5 ? -v : v }
        switch op {
        case .identity:
            break
        case .autoContrast:
            ImageOps.autocontrast(image)
        case .equalize:
            ImageOps.equalize(image)
        case .rotate:
            ImageOps.rotate(image, size: size, degrees: signed(30 * level), scratch: scratch)
        case .solarize:
            ImageOps.solarize(image, threshold: 1 - level)
        case .posterize:
            // timm keeps 4 - int(4 level) bits; 0 bits would blank the image, so keep >= 1.
            ImageOps.posterize(image, bits: max(1, 4 - Int(4 * level)))
        case .contrast:
            ImageOps.contrast(image, factor: 1 + signed(0.9 * level))
        case .brightness:
            ImageOps.brightness(image, factor: 1 + signed(0.9 * level))
        case .sharpness:
            ImageOps.sharpness(image, size: size, factor: 1 + signed(0.9 * level), scratch: scratch)
        case .shearX:
            ImageOps.affine(image, size: size, 1, signed(0.3 * level), 0, 0, 1, 0, scratch: scratch)
        case .shearY:
            ImageOps.affine(image, size: size, 1, 0, 0, signed(0.3 * level), 1, 0, scratch: scratch)
        case .translateX:
            ImageOps.affine(image, size: size, 1, 0, signed(0.45 * level * Float(size)), 0, 1, 0, scratch: scratch)
        case .translateY:
            ImageOps.affine(image, size: size, 1, 0, 0, 0, 1, signed(0.45 * level * Float(size)), scratch: scratch)
        }
    }
}
