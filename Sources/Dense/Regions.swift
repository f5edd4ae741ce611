import Foundation

/// What COCO evaluation compares: a region with an area and an IoU against another region
/// of the same kind. `Box` gives box AP, `BinaryMask` mask AP; the evaluation is the same.
public protocol DenseRegion: Sendable {
    /// Area as COCO's `loadRes` computes it for a result: w * h for a box, the pixel
    /// count for a mask. (A ground-truth annotation carries its own area; see `Annotation`.)
    var regionArea: Double { get }
    /// Intersection over union with `other`, 0 when they do not overlap (pycocotools'
    /// `maskUtils.iou` with iscrowd = 0).
    func iou(_ other: Self) -> Double
}

/// A box in COCO's [x, y, width, height] form, in pixels. A box that is tight around
/// pixels minX...maxX covers [minX, maxX + 1), so its width is maxX - minX + 1.
public struct Box: Equatable, Hashable, Sendable, DenseRegion {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var regionArea: Double { width * height }

    /// pycocotools' `bbIou` (maskApi.c), operation for operation, so ties with the IoU
    /// thresholds fall the same way.
    public func iou(_ gt: Box) -> Double {
        let w = min(width + x, gt.width + gt.x) - max(x, gt.x)
        if w <= 0 { return 0 }
        let h = min(height + y, gt.height + gt.y) - max(y, gt.y)
        if h <= 0 { return 0 }
        let i = w * h
        let u = regionArea + gt.regionArea - i
        return i / u
    }
}

/// A binary mask over a `width` x `height` canvas (row-major). The tight bounding box and
/// pixel count are computed once, so IoU only visits the overlap of the two boxes.
public struct BinaryMask: Equatable, Hashable, Sendable, DenseRegion {
    public let width: Int
    public let height: Int
    public let bits: [Bool]
    /// Number of set pixels.
    public let count: Int
    /// Tight box of the set pixels (pixel-aligned, width = maxX - minX + 1); nil when empty.
    public let tightBox: Box?
    // Integer bounds of the set pixels, for the IoU loop (empty mask: lo > hi).
    private let minX: Int, maxX: Int, minY: Int, maxY: Int

    public init(width: Int, height: Int, bits: [Bool]) {
        precondition(width >= 0 && height >= 0 && bits.count == width * height,
                     "mask of \(bits.count) pixels is not \(width)x\(height)")
        self.width = width
        self.height = height
        self.bits = bits
        var n = 0, x0 = Int.max, x1 = Int.min, y0 = Int.max, y1 = Int.min
        for y in 0..<height {
            for x in 0..<width where bits[y * width + x] {
                n += 1
                x0 = Swift.min(x0, x)
                x1 = Swift.max(x1, x)
                y0 = Swift.min(y0, y)
                y1 = Swift.max(y1, y)
            }
        }
        count = n
        (minX, maxX, minY, maxY) = (x0, x1, y0, y1)
        tightBox = n == 0 ? nil : Box(x: Double(x0), y: Double(y0), width: Double(x1 - x0 + 1), height: Double(y1 - y0 + 1))
    }

    /// A mask from rows of "0"/"1" (or "."/"#") characters, for tests and fixtures.
    public init(rows: [String]) {
        let h = rows.count, w = rows.first?.count ?? 0
        var bits = [Bool]()
        bits.reserveCapacity(w * h)
        for row in rows {
            precondition(row.count == w, "mask rows differ in length")
            for c in row { bits.append(c == "1" || c == "#") }
        }
        self.init(width: w, height: h, bits: bits)
    }

    public subscript(x: Int, y: Int) -> Bool { bits[y * width + x] }

    public var regionArea: Double { Double(count) }

    /// Pixel IoU as pycocotools' `rleIou`: intersection / union of the set pixels, 0 when
    /// either mask is empty or they do not touch.
    public func iou(_ gt: BinaryMask) -> Double {
        precondition(width == gt.width && height == gt.height,
                     "mask IoU of a \(width)x\(height) and a \(gt.width)x\(gt.height) mask")
        let x0 = Swift.max(minX, gt.minX), x1 = Swift.min(maxX, gt.maxX)
        let y0 = Swift.max(minY, gt.minY), y1 = Swift.min(maxY, gt.maxY)
        if count == 0 || gt.count == 0 || x0 > x1 || y0 > y1 { return 0 }
        var i = 0
        for y in y0...y1 {
            let row = y * width
            for x in x0...x1 where bits[row + x] && gt.bits[row + x] { i += 1 }
        }
        return Double(i) / Double(count + gt.count - i)
    }
}
