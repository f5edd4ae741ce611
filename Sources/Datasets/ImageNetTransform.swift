import Foundation
import Tensor

/// The standard ImageNet transforms, from a decoded RGB image to a normalized CHW float
/// image of `size` x `size`:
///
///   train  RandomResizedCrop(size, scale 0.08-1, ratio 3/4-4/3) + horizontal flip, then the
///          advanced recipe's RandAugment on [0, 1] pixels, normalization, random erasing
///          (the same `Augmentation` as the small scale, applied per channel)
///   eval   resize the shorter side to `resize` (256), center crop `size` (224)
///
/// Resampling is PIL's antialiased bilinear or bicubic (the filter widened by the downscale
/// factor), computed straight from the source box, which is what resize-then-crop gives.
/// RandAugment ops run on each channel with the same random draws, so geometric ops move
/// the three channels alike; photometric ops (contrast, equalize, autocontrast) use each
/// channel's own statistics where PIL uses the grey image's for contrast: a stated
/// difference from timm, small beside the op's random strength.
public struct ImageNetTransform: Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case train, eval }

    /// PIL's antialiased resampling filters (what torchvision's Resize uses on PIL images):
    /// timm evaluates ResNets with bilinear and Swin, ViT, BEiT, ConvNeXt and Mixer with bicubic.
    public enum Interpolation: String, Codable, Sendable, CaseIterable {
        case bilinear, bicubic

        /// The filter's half-width in source pixels at scale 1.
        var support: Double { self == .bilinear ? 1 : 2 }

        /// PIL's filter kernels (Resample.c: bilinear_filter, bicubic_filter with a = -0.5).
        func weight(_ x: Double) -> Double {
            let x = abs(x)
            switch self {
            case .bilinear: return max(0, 1 - x)
            case .bicubic:
                let a = -0.5
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    public var kind: Kind
    public var size: Int
    /// Eval only: the shorter side before the center crop.
    public var resize: Int
    public var horizontalFlip: Bool
    public var randAugment: RandAugmentConfig?
    public var randomErasing: Float
    public var interpolation: Interpolation = .bilinear
    public var mean: [Float]
    public var std: [Float]

    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    public static func eval(size: Int = 224, resize: Int = 256, interpolation: Interpolation = .bilinear) -> ImageNetTransform {
        ImageNetTransform(kind: .eval, size: size, resize: resize, horizontalFlip: false, randAugment: nil, randomErasing: 0,
                          interpolation: interpolation, mean: imageNetMean, std: imageNetStd)
    }

    /// Training transform with a recipe's augmentation (`Augmentation.traditional` or
    /// `.advanced`); its crop padding is the 32x32 stand-in for RandomResizedCrop and is
    /// not used here. Mixup/CutMix act on batches and are not part of this transform.
    public static func train(size: Int = 224, augmentation: Augmentation = .traditional,
                             interpolation: Interpolation = .bilinear) -> ImageNetTransform {
        ImageNetTransform(kind: .train, size: size, resize: size, horizontalFlip: augmentation.horizontalFlip,
                          randAugment: augmentation.randAugment, randomErasing: augmentation.randomErasing,
                          interpolation: interpolation, mean: imageNetMean, std: imageNetStd)
    }

    public var floatsPerImage: Int { 3 * size * size }

    /// Writes the transformed image (CHW, normalized) into `out` (`floatsPerImage` floats).
    public func apply(to image: RGBImage, rng: inout RandomGenerator, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= floatsPerImage)
        let plane = size * size
        switch kind {
        case .eval:
            // torchvision: Resize(256) gives int(256 * long / short) on the long side, then
            // CenterCrop rounds the offsets.
            let short = Double(min(image.width, image.height))
            let newW = image.width <= image.height ? resize : Int(Double(resize) * Double(image.width) / short)
            let newH = image.height <= image.width ? resize : Int(Double(resize) * Double(image.height) / short)
            let left = ((Double(newW - size)) / 2).rounded(), top = ((Double(newH - size)) / 2).rounded()
            let sx = Double(image.width) / Double(newW), sy = Double(image.height) / Double(newH)
            Self.resample(image, box: (left * sx, top * sy, Double(size) * sx, Double(size) * sy),
                          width: size, height: size, filter: interpolation, into: out)
        case .train:
            Self.resample(image, box: Self.randomResizedCropBox(width: image.width, height: image.height, rng: &rng),
                          width: size, height: size, filter: interpolation, into: out)
            if horizontalFlip, rng.nextFloat() < 0.5 {
                for c in 0..<3 { ImageOps.flipHorizontal(UnsafeMutableBufferPointer(rebasing: out[(c * plane)..<((c + 1) * plane)]), size: size) }
            }
            if let randAugment {
                let start = rng
                var scratch = [Float](repeating: 0, count: plane)
                scratch.withUnsafeMutableBufferPointer { scratch in
                    for c in 0..<3 {
                        rng = start  // the same draws for every channel
                        randAugment.apply(to: UnsafeMutableBufferPointer(rebasing: out[(c * plane)..<((c + 1) * plane)]),
                                          size: size, scratch: scratch, rng: &rng)
                    }
                }
            }
        }
        for c in 0..<3 {
            let m = mean[c], inv = 1 / std[c]
            for i in (c * plane)..<((c + 1) * plane) { out[i] = (out[i] - m) * inv }
        }
        if kind == .train, randomErasing > 0 {
            Augmentation.erase(out, size: size, channels: 3, probability: randomErasing, rng: &rng)
        }
    }

    /// torchvision's RandomResizedCrop.get_params: (x, y, w, h) in source pixels.
    static func randomResizedCropBox(width: Int, height: Int, rng: inout RandomGenerator,
                                     scale: (Double, Double) = (0.08, 1), ratio: (Double, Double) = (3.0 / 4, 4.0 / 3))
        -> (Double, Double, Double, Double) {
        let area = Double(width * height)
        let logRatio = (log(ratio.0), log(ratio.1))
        for _ in 0..<10 {
            let target = area * (scale.0 + Double(rng.nextFloat()) * (scale.1 - scale.0))
            let aspect = exp(logRatio.0 + Double(rng.nextFloat()) * (logRatio.1 - logRatio.0))
            let w = Int((target * aspect).squareRoot().rounded()), h = Int((target / aspect).squareRoot().rounded())
            if w > 0, w <= width, h > 0, h <= height {
                let y = rng.nextInt(below: height - h + 1), x = rng.nextInt(below: width - w + 1)
                return (Double(x), Double(y), Double(w), Double(h))
            }
        }
        // Fallback: the largest center crop whose aspect is inside the ratio range.
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.0 { h = Int((Double(w) / ratio.0).rounded()) } else if inRatio > ratio.1 { w = Int((Double(h) * ratio.1).rounded()) }
        return (Double((width - w) / 2), Double((height - h) / 2), Double(w), Double(h))
    }

    /// PIL's antialiased resampling of the source `box` to `width` x `height`, as [0, 1]
    /// floats in CHW: a horizontal pass over the box's rows, then a vertical one. As PIL does
    /// for 8-bit images, the horizontal pass is rounded and clipped to 0...255 (it matters
    /// for bicubic, whose negative lobes overshoot); the final values are left unrounded.
    static func resample(_ image: RGBImage, box: (x: Double, y: Double, w: Double, h: Double), width: Int, height: Int,
                         filter: Interpolation = .bilinear, into out: UnsafeMutableBufferPointer<Float>) {
        let xs = coefficients(inSize: image.width, start: box.x, length: box.w, outSize: width, filter: filter)
        let ys = coefficients(inSize: image.height, start: box.y, length: box.h, outSize: height, filter: filter)
        let rowLo = ys.map(\.first).min()!, rowHi = ys.map { $0.first + $0.weights.count }.max()!
        var rows = [Float](repeating: 0, count: (rowHi - rowLo) * width * 3)  // [row][x][c]
        func clip8(_ v: Float) -> Float { min(max((v + 0.5).rounded(.down), 0), 255) }
        image.pixels.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { rows in
                for y in rowLo..<rowHi {
                    let srcRow = y * image.width * 3, dstRow = (y - rowLo) * width * 3
                    for (x, k) in xs.enumerated() {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (j, w) in k.weights.enumerated() {
                            let p = srcRow + (k.first + j) * 3
                            r += w * Float(src[p]); g += w * Float(src[p + 1]); b += w * Float(src[p + 2])
                        }
                        rows[dstRow + x * 3] = clip8(r); rows[dstRow + x * 3 + 1] = clip8(g); rows[dstRow + x * 3 + 2] = clip8(b)
                    }
                }
                let plane = width * height
                for (y, k) in ys.enumerated() {
                    for x in 0..<width {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (j, w) in k.weights.enumerated() {
                            let p = ((k.first + j - rowLo) * width + x) * 3
                            r += w * rows[p]; g += w * rows[p + 1]; b += w * rows[p + 2]
                        }
                        let o = y * width + x
                        out[o] = min(max(r, 0), 255) / 255
                        out[plane + o] = min(max(g, 0), 255) / 255
                        out[2 * plane + o] = min(max(b, 0), 255) / 255
                    }
                }
            }
        }
    }

    /// PIL's precompute_coeffs: the filter widened by the downscale factor (antialiasing),
    /// centred on each output pixel's centre in the source, normalised to sum 1.
    static func coefficients(inSize: Int, start: Double, length: Double, outSize: Int,
                             filter: Interpolation) -> [(first: Int, weights: [Float])] {
        let scale = length / Double(outSize), filterScale = max(scale, 1), support = filter.support * filterScale
        return (0..<outSize).map { i in
            let center = start + (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), inSize)
            var weights = (lo..<max(hi, lo + 1)).map { j in filter.weight((Double(j) - center + 0.5) / filterScale) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } } else { weights = [Double](repeating: 0, count: weights.count - 1) + [1] }
            return (min(lo, inSize - 1), weights.map(Float.init))
        }
    }
}
