import Datasets
import Foundation
import Tensor

/// How canvases are laid out. The defaults give 64x64 canvases with 1-4 garments of
/// 12-40 pixels height.
public struct CanvasConfig: Hashable, Sendable {
    public enum Resize: String, Hashable, Sendable {
        /// Source pixel under the output pixel's center: floor((y + 0.5) * source / size).
        case nearest
        /// Half-pixel bilinear (PyTorch's align_corners = false, no antialiasing), edges clamped.
        case bilinear
    }

    public var width: Int
    public var height: Int
    /// Number of garments per canvas, drawn uniformly.
    public var objects: ClosedRange<Int>
    /// Height in pixels of a resized garment (its whole 28x28 source frame), drawn uniformly.
    public var objectSide: ClosedRange<Int>
    /// Width / height of the resized frame, drawn uniformly; the width is rounded and
    /// clamped to 1...canvas width.
    public var aspect: ClosedRange<Double>
    public var resize: Resize
    /// A garment's mask is its resized pixels above this raw [0, 1] value. 0 makes the mask
    /// (and so the box) the garment's nonzero pixels.
    public var maskThreshold: Float
    /// Overlap bound: masks never share a pixel, and the tight boxes of two garments may
    /// overlap up to this IoU (0 keeps boxes disjoint, touching allowed).
    public var maxBoxIoU: Double
    /// Position/size draws per garment before it is given up.
    public var placementAttempts: Int

    public init(width: Int = 64, height: Int = 64, objects: ClosedRange<Int> = 1...4, objectSide: ClosedRange<Int> = 12...40,
                aspect: ClosedRange<Double> = 0.8...1.25, resize: Resize = .bilinear, maskThreshold: Float = 0,
                maxBoxIoU: Double = 0.3, placementAttempts: Int = 100) {
        self.width = width
        self.height = height
        self.objects = objects
        self.objectSide = objectSide
        self.aspect = aspect
        self.resize = resize
        self.maskThreshold = maskThreshold
        self.maxBoxIoU = maxBoxIoU
        self.placementAttempts = placementAttempts
    }
}

/// One garment on a canvas. `mask` covers the whole canvas; `box` is its tight box
/// (pixel-aligned, so it contains exactly the mask's pixels' extent) and `area` its pixel count.
public struct CanvasInstance: Equatable, Sendable {
    /// Garment class in 0..<source.classCount (semantic id label + 1).
    public let label: Int
    /// Position of the garment in the generator's source dataset.
    public let sourcePosition: Int
    /// Index in the source file (`ImageDataset.sourceIndices`), the garment's identity.
    public let sourceIndex: Int
    /// Where the resized 28x28 frame was pasted (integer pixels, inside the canvas).
    public let frame: Box
    public let box: Box
    public let mask: BinaryMask
    public var area: Int { mask.count }
}

/// A canvas and everything known about it by construction.
public struct Canvas: Equatable, Sendable {
    public let index: Int
    public let width: Int
    public let height: Int
    /// Raw [0, 1] grey pixels, row-major: the pixelwise max of the pasted garments, 0 elsewhere
    /// (so a pixel is above `maskThreshold` exactly where some mask is set).
    public let pixels: [Float]
    /// Per-pixel class: 0 background, label + 1 on a garment's mask pixels.
    public let semantic: [UInt8]
    public let instances: [CanvasInstance]

    /// Ground truth for box AP; the area (for size buckets) is the mask's, as COCO's is the
    /// segmentation's.
    public var boxAnnotations: [Annotation<Box>] {
        instances.map { Annotation(category: $0.label, region: $0.box, area: Double($0.area)) }
    }

    /// Ground truth for mask AP.
    public var maskAnnotations: [Annotation<BinaryMask>] {
        instances.map { Annotation(category: $0.label, region: $0.mask, area: Double($0.area)) }
    }
}

/// Seeded canvases of garments from one source dataset: `canvas(i)` is a pure function of
/// (source, config, seed, i), drawn from `RandomGenerator(seed:, stream: "CANV", i, retry)`,
/// so canvases can be made in any order or in parallel. A canvas only draws from `source`:
/// canvases built on the test split never contain a training image.
///
/// Layout: the number of garments is drawn from `config.objects`; each garment picks a
/// source image, then up to `placementAttempts` (size, aspect, position) draws, taking the
/// first whose mask shares no pixel with the masks already placed and whose tight box has
/// IoU <= `maxBoxIoU` with every placed box. A garment that never fits is dropped; if fewer
/// than `objects.lowerBound` fit, the whole canvas is redrawn from the next retry stream
/// (up to 16 times, then a precondition failure: the config is too crowded).
public struct CanvasGenerator: Sendable {
    public let source: ImageDataset
    public let config: CanvasConfig
    public let seed: UInt64

    static let stream: UInt64 = 0x43414E56  // "CANV"
    static let maxRetries = 16

    public init(source: ImageDataset, config: CanvasConfig = CanvasConfig(), seed: UInt64) {
        let c = config
        precondition(source.count > 0, "\(source.name): no images to place")
        precondition(source.classCount < 255, "semantic ids are UInt8 with 0 for background")
        precondition(c.width > 0 && c.height > 0, "canvas must be non-empty")
        precondition(c.objects.lowerBound >= 0, "object count must be non-negative")
        precondition(c.objectSide.lowerBound >= 1 && c.objectSide.upperBound <= c.height,
                     "garment heights \(c.objectSide) must lie in 1...\(c.height)")
        precondition(c.aspect.lowerBound > 0, "aspect must be positive")
        precondition(c.maxBoxIoU >= 0 && c.placementAttempts > 0)
        self.source = source
        self.config = c
        self.seed = seed
    }

    /// Semantic classes: background plus the source's classes.
    public var semanticClassCount: Int { source.classCount + 1 }

    public func canvases(_ indices: Range<Int>) -> [Canvas] { indices.map(canvas) }

    public func canvas(_ index: Int) -> Canvas {
        precondition(index >= 0, "canvas index must be non-negative")
        for retry in 0..<Self.maxRetries {
            var rng = RandomGenerator(seed: seed, stream: Self.stream, UInt64(index), UInt64(retry))
            if let canvas = layout(index: index, rng: &rng) { return canvas }
        }
        preconditionFailure("\(config) cannot fit \(config.objects.lowerBound) garments on canvas \(index)")
    }

    private func layout(index: Int, rng: inout RandomGenerator) -> Canvas? {
        let c = config, w = c.width, h = c.height
        let target = c.objects.lowerBound + rng.nextInt(below: c.objects.count)
        var occupied = [Bool](repeating: false, count: w * h)
        var pixels = [Float](repeating: 0, count: w * h)
        var semantic = [UInt8](repeating: 0, count: w * h)
        var instances = [CanvasInstance]()
        var garment = [Float](repeating: 0, count: source.sourceHeight * source.sourceWidth)
        for _ in 0..<target {
            let position = rng.nextInt(below: source.count)
            readGarment(position, into: &garment)
            attempts: for _ in 0..<c.placementAttempts {
                let ph = c.objectSide.lowerBound + rng.nextInt(below: c.objectSide.count)
                let a = c.aspect.lowerBound + Double(rng.nextFloat()) * (c.aspect.upperBound - c.aspect.lowerBound)
                let pw = min(max(Int((Double(ph) * a).rounded()), 1), w)
                let x0 = rng.nextInt(below: w - pw + 1), y0 = rng.nextInt(below: h - ph + 1)
                let patch = resized(garment, toHeight: ph, width: pw)
                var bits = [Bool](repeating: false, count: w * h)
                var any = false
                for y in 0..<ph {
                    for x in 0..<pw where patch[y * pw + x] > c.maskThreshold {
                        let i = (y0 + y) * w + x0 + x
                        if occupied[i] { continue attempts }
                        bits[i] = true
                        any = true
                    }
                }
                if !any { continue }
                let mask = BinaryMask(width: w, height: h, bits: bits)
                let box = mask.tightBox!
                if instances.contains(where: { $0.box.iou(box) > c.maxBoxIoU }) { continue }
                let label = source.labels[position]
                for y in 0..<ph {
                    for x in 0..<pw {
                        let i = (y0 + y) * w + x0 + x
                        pixels[i] = max(pixels[i], patch[y * pw + x])
                        if bits[i] {
                            occupied[i] = true
                            semantic[i] = UInt8(label + 1)
                        }
                    }
                }
                instances.append(CanvasInstance(
                    label: label, sourcePosition: position, sourceIndex: source.sourceIndices[position],
                    frame: Box(x: Double(x0), y: Double(y0), width: Double(pw), height: Double(ph)), box: box, mask: mask))
                break
            }
        }
        guard instances.count >= c.objects.lowerBound else { return nil }
        return Canvas(index: index, width: w, height: h, pixels: pixels, semantic: semantic, instances: instances)
    }

    /// The source image at `position` as raw [0, 1] floats, unpadded (sourceHeight x sourceWidth).
    private func readGarment(_ position: Int, into out: inout [Float]) {
        let size = source.size, top = (size - source.sourceHeight) / 2, left = (size - source.sourceWidth) / 2
        var padded = [Float](repeating: 0, count: size * size)
        padded.withUnsafeMutableBufferPointer { source.writeRawImage(at: position, into: $0) }
        for y in 0..<source.sourceHeight {
            for x in 0..<source.sourceWidth { out[y * source.sourceWidth + x] = padded[(y + top) * size + x + left] }
        }
    }

    private func resized(_ image: [Float], toHeight oh: Int, width ow: Int) -> [Float] {
        let ih = source.sourceHeight, iw = source.sourceWidth
        let sy = Double(ih) / Double(oh), sx = Double(iw) / Double(ow)
        var out = [Float](repeating: 0, count: oh * ow)
        switch config.resize {
        case .nearest:
            for y in 0..<oh {
                let iy = min(Int((Double(y) + 0.5) * sy), ih - 1)
                for x in 0..<ow { out[y * ow + x] = image[iy * iw + min(Int((Double(x) + 0.5) * sx), iw - 1)] }
            }
        case .bilinear:
            func coordinate(_ o: Int, _ scale: Double, _ n: Int) -> (Int, Int, Float) {
                let s = max((Double(o) + 0.5) * scale - 0.5, 0)
                let i0 = min(Int(s), n - 1)
                return (i0, min(i0 + 1, n - 1), Float(s - Double(i0)))
            }
            for y in 0..<oh {
                let (y0, y1, fy) = coordinate(y, sy, ih)
                for x in 0..<ow {
                    let (x0, x1, fx) = coordinate(x, sx, iw)
                    let top = image[y0 * iw + x0] * (1 - fx) + image[y0 * iw + x1] * fx
                    let bottom = image[y1 * iw + x0] * (1 - fx) + image[y1 * iw + x1] * fx
                    out[y * ow + x] = top * (1 - fy) + bottom * fy
                }
            }
        }
        return out
    }
}
