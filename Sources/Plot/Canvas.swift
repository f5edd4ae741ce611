// An RGBA raster and the anti-aliased primitives every figure is drawn with.
//
// Every primitive computes, per pixel, the fraction of the pixel it covers and
// blends its colour with that coverage ("coverage-based anti-aliasing").

/// An RGBA image, 8 bits per channel, rows top to bottom, straight alpha.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 4` bytes: R, G, B, A for each pixel, row-major.
    public var pixels: [UInt8]
    /// Pixels per point (the render scale); written to the PNG as its resolution.
    public var pixelsPerPoint: Int

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: Color = .white, pixelsPerPoint: Int = 1) {
        precondition(width > 0 && height > 0, "Canvas size must be positive, got \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixelsPerPoint = pixelsPerPoint
        pixels = [UInt8](repeating: 0, count: width * height * 4)
        for i in 0..<(width * height) {
            pixels[4 * i] = background.red
            pixels[4 * i + 1] = background.green
            pixels[4 * i + 2] = background.blue
            pixels[4 * i + 3] = background.alpha
        }
    }

    /// A canvas over existing RGBA bytes (as decoded from a PNG).
    public init(width: Int, height: Int, pixels: [UInt8], pixelsPerPoint: Int = 1) {
        precondition(pixels.count == width * height * 4, "RGBA buffer does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.pixelsPerPoint = pixelsPerPoint
    }

    /// The colour of pixel (x, y); x and y must be inside the canvas.
    public subscript(x: Int, y: Int) -> Color {
        let i = 4 * (y * width + x)
        return Color(red: pixels[i], green: pixels[i + 1], blue: pixels[i + 2], alpha: pixels[i + 3])
    }

    /// Blends `color` over pixel (x, y) with `coverage` in [0, 1]; outside pixels are ignored.
    public mutating func blend(x: Int, y: Int, color: Color, coverage: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, coverage > 0 else { return }
        let a = Double(color.alpha) / 255 * min(coverage, 1)
        guard a > 0 else { return }
        let i = 4 * (y * width + x)
        let dstA = Double(pixels[i + 3]) / 255
        let outA = a + dstA * (1 - a)
        func mixChannel(_ src: UInt8, _ dst: UInt8) -> UInt8 {
            let value = (Double(src) * a + Double(dst) * dstA * (1 - a)) / outA
            return UInt8(max(0, min(255, value.rounded())))
        }
        pixels[i] = mixChannel(color.red, pixels[i])
        pixels[i + 1] = mixChannel(color.green, pixels[i + 1])
        pixels[i + 2] = mixChannel(color.blue, pixels[i + 2])
        pixels[i + 3] = UInt8(max(0, min(255, (outA * 255).rounded())))
    }

    /// Fills a rectangle; partially covered edge pixels are blended by their covered area.
    public mutating func fillRect(_ rect: Rect, color: Color) {
        guard rect.width > 0, rect.height > 0 else { return }
        let x0 = max(0, Int(rect.minX.rounded(.down))), x1 = min(width - 1, Int(rect.maxX.rounded(.up)) - 1)
        let y0 = max(0, Int(rect.minY.rounded(.down))), y1 = min(height - 1, Int(rect.maxY.rounded(.up)) - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            let coverY = min(Double(y + 1), rect.maxY) - max(Double(y), rect.minY)
            for x in x0...x1 {
                let coverX = min(Double(x + 1), rect.maxX) - max(Double(x), rect.minX)
                blend(x: x, y: y, color: color, coverage: coverX * coverY)
            }
        }
    }

    /// Draws a straight line of the given width with round caps.
    public mutating func drawLine(from a: Point, to b: Point, width lineWidth: Double, color: Color) {
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { return }
        let half = lineWidth / 2
        let pad = half + 1
        let x0 = max(0, Int((min(a.x, b.x) - pad).rounded(.down)))
        let x1 = min(width - 1, Int((max(a.x, b.x) + pad).rounded(.up)))
        let y0 = max(0, Int((min(a.y, b.y) - pad).rounded(.down)))
        let y1 = min(height - 1, Int((max(a.y, b.y) + pad).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let dx = b.x - a.x, dy = b.y - a.y
        let lengthSquared = dx * dx + dy * dy
        for y in y0...y1 {
            for x in x0...x1 {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                var t = lengthSquared > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / lengthSquared : 0
                t = max(0, min(1, t))
                let ex = px - (a.x + t * dx), ey = py - (a.y + t * dy)
                let distance = (ex * ex + ey * ey).squareRoot()
                // A pixel is a unit square: coverage ramps over one pixel across the edge.
                blend(x: x, y: y, color: color, coverage: max(0, min(1, half + 0.5 - distance)))
            }
        }
    }

    /// Draws connected segments; a NaN point breaks the line into separate pieces.
    public mutating func drawPolyline(_ points: [Point], width lineWidth: Double, color: Color) {
        guard points.count >= 2 else { return }
        for i in 1..<points.count {
            drawLine(from: points[i - 1], to: points[i], width: lineWidth, color: color)
        }
    }

    /// Fills a disc.
    public mutating func fillCircle(center: Point, radius: Double, color: Color) {
        guard center.x.isFinite, center.y.isFinite, radius > 0 else { return }
        let x0 = max(0, Int((center.x - radius - 1).rounded(.down)))
        let x1 = min(width - 1, Int((center.x + radius + 1).rounded(.up)))
        let y0 = max(0, Int((center.y - radius - 1).rounded(.down)))
        let y1 = min(height - 1, Int((center.y + radius + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let ex = Double(x) + 0.5 - center.x, ey = Double(y) + 0.5 - center.y
                let distance = (ex * ex + ey * ey).squareRoot()
                blend(x: x, y: y, color: color, coverage: max(0, min(1, radius + 0.5 - distance)))
            }
        }
    }

    /// Fills a polygon (even-odd rule), anti-aliased with 4 x 4 samples per pixel.
    public mutating func fillPolygon(_ vertices: [Point], color: Color) {
        guard vertices.count >= 3, vertices.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { return }
        let xs = vertices.map(\.x), ys = vertices.map(\.y)
        let x0 = max(0, Int(xs.min()!.rounded(.down))), x1 = min(width - 1, Int(xs.max()!.rounded(.up)))
        let y0 = max(0, Int(ys.min()!.rounded(.down))), y1 = min(height - 1, Int(ys.max()!.rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let n = 4
        for y in y0...y1 {
            for x in x0...x1 {
                var inside = 0
                for sy in 0..<n {
                    let py = Double(y) + (Double(sy) + 0.5) / Double(n)
                    for sx in 0..<n {
                        let px = Double(x) + (Double(sx) + 0.5) / Double(n)
                        if Canvas.polygon(vertices, contains: px, py) { inside += 1 }
                    }
                }
                blend(x: x, y: y, color: color, coverage: Double(inside) / Double(n * n))
            }
        }
    }

    /// Even-odd point-in-polygon test.
    static func polygon(_ vertices: [Point], contains px: Double, _ py: Double) -> Bool {
        var inside = false
        var j = vertices.count - 1
        for i in 0..<vertices.count {
            let a = vertices[i], b = vertices[j]
            if (a.y > py) != (b.y > py), px < (b.x - a.x) * (py - a.y) / (b.y - a.y) + a.x {
                inside.toggle()
            }
            j = i
        }
        return inside
    }
}
