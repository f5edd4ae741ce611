import Dense
import Foundation

/// CenterNet's targets (Zhou et al. 2019, "Objects as Points") on a `grid` x `grid` map at
/// `stride` pixels per cell: a Gaussian peak per object at its center cell in its class's
/// heatmap, the box size (in cells) and the center's sub-cell offset at that cell.
public struct CenterNetCoder: Sendable {
    public let classes: Int
    public let grid: Int
    public let stride: Int

    public init(classes: Int, grid: Int, stride: Int) {
        self.classes = classes
        self.grid = grid
        self.stride = stride
    }

    /// One batch item's targets, flat in [channel, y, x] order.
    public struct Targets: Equatable, Sendable {
        /// classes x grid x grid, 1 exactly at the object centers.
        public var heatmap: [Float]
        /// 2 x grid x grid (width, height in cells), set at center cells only.
        public var size: [Float]
        /// 2 x grid x grid (x, y offset in [0, 1)), set at center cells only.
        public var offset: [Float]
        /// grid x grid, 1 at center cells.
        public var centers: [Float]
        public var objectCount: Int
    }

    /// Targets of labelled boxes (pixel coordinates). Two objects whose centers fall in one
    /// cell keep the later one's size and offset (CenterNet does the same).
    public func encode(_ objects: [(label: Int, box: Box)]) -> Targets {
        let cells = grid * grid
        var t = Targets(heatmap: .init(repeating: 0, count: classes * cells), size: .init(repeating: 0, count: 2 * cells),
                        offset: .init(repeating: 0, count: 2 * cells), centers: .init(repeating: 0, count: cells), objectCount: 0)
        for (label, box) in objects {
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            let (cx, cy) = ((box.x + box.width / 2) / Double(stride), (box.y + box.height / 2) / Double(stride))
            let ix = min(max(Int(cx.rounded(.down)), 0), grid - 1), iy = min(max(Int(cy.rounded(.down)), 0), grid - 1)
            let (w, h) = (box.width / Double(stride), box.height / Double(stride))
            let radius = max(0, Int(Self.gaussianRadius(height: h, width: w, minOverlap: 0.7)))
            let sigma = Double(2 * radius + 1) / 6
            for y in max(0, iy - radius)...min(grid - 1, iy + radius) {
                for x in max(0, ix - radius)...min(grid - 1, ix + radius) {
                    let d2 = Double((x - ix) * (x - ix) + (y - iy) * (y - iy))
                    let v = Float(Foundation.exp(-d2 / (2 * sigma * sigma)))
                    let i = label * cells + y * grid + x
                    t.heatmap[i] = max(t.heatmap[i], v)
                }
            }
            let c = iy * grid + ix
            t.size[c] = Float(w)
            t.size[cells + c] = Float(h)
            t.offset[c] = Float(cx - Double(ix))
            t.offset[cells + c] = Float(cy - Double(iy))
            if t.centers[c] == 0 { t.objectCount += 1 }
            t.centers[c] = 1
        }
        return t
    }

    /// Boxes from one item's heatmap scores (after the sigmoid), sizes and offsets: each
    /// cell that is the maximum of its 3x3 neighbourhood in its class (CenterNet's max-pool
    /// NMS) and scores at least `threshold` gives a box, best `maxDetections` first, clipped
    /// to the canvas.
    public func decode(heatmap: [Float], size: [Float], offset: [Float], threshold: Float = 0.01,
                       maxDetections: Int = 100) -> [Detection<Box>] {
        let cells = grid * grid, side = Double(grid * stride)
        var peaks: [(score: Float, label: Int, cell: Int)] = []
        for c in 0..<classes {
            for y in 0..<grid {
                for x in 0..<grid {
                    let v = heatmap[c * cells + y * grid + x]
                    guard v >= threshold else { continue }
                    var isPeak = true
                    for ny in max(0, y - 1)...min(grid - 1, y + 1) {
                        for nx in max(0, x - 1)...min(grid - 1, x + 1) where heatmap[c * cells + ny * grid + nx] > v { isPeak = false }
                    }
                    if isPeak { peaks.append((v, c, y * grid + x)) }
                }
            }
        }
        peaks.sort { $0.score != $1.score ? $0.score > $1.score : ($0.label, $0.cell) < ($1.label, $1.cell) }
        return peaks.prefix(maxDetections).map { p in
            let (ix, iy) = (p.cell % grid, p.cell / grid)
            let cx = (Double(ix) + Double(offset[p.cell])) * Double(stride)
            let cy = (Double(iy) + Double(offset[cells + p.cell])) * Double(stride)
            let w = max(Double(size[p.cell]), 0) * Double(stride), h = max(Double(size[cells + p.cell]), 0) * Double(stride)
            let x0 = min(max(cx - w / 2, 0), side), y0 = min(max(cy - h / 2, 0), side)
            let x1 = min(max(cx + w / 2, 0), side), y1 = min(max(cy + h / 2, 0), side)
            return Detection(category: p.label, score: Double(p.score), region: Box(x: x0, y: y0, width: x1 - x0, height: y1 - y0))
        }
    }

    /// CenterNet's `gaussian_radius` (CornerNet's formula): the radius within which a corner
    /// shift keeps IoU >= minOverlap with the true box, the smallest of its three cases.
    public static func gaussianRadius(height: Double, width: Double, minOverlap: Double) -> Double {
        let (h, w, o) = (height, width, minOverlap)
        let b1 = h + w, c1 = w * h * (1 - o) / (1 + o)
        let r1 = (b1 + (b1 * b1 - 4 * c1).squareRoot()) / 2
        let b2 = 2 * (h + w), c2 = (1 - o) * w * h
        let r2 = (b2 + (b2 * b2 - 16 * c2).squareRoot()) / 2
        let a3 = 4 * o, b3 = -2 * o * (h + w), c3 = (o - 1) * w * h
        let r3 = (b3 + (b3 * b3 - 4 * a3 * c3).squareRoot()) / 2
        return min(r1, r2, r3)
    }
}
