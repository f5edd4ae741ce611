import Foundation

/// Pixel operations on one square grey image of raw [0, 1] floats (row-major, `size` x
/// `size`). Geometric ops fill uncovered pixels with 0, the Fashion-MNIST background and
/// the padding value, so they never invent a border.
enum ImageOps {
    static func shift(_ image: UnsafeMutableBufferPointer<Float>, size: Int, dx: Int, dy: Int,
                      scratch: UnsafeMutableBufferPointer<Float>) {
        if dx == 0 && dy == 0 { return }
        for y in 0..<size {
            let sy = y + dy
            for x in 0..<size {
                let sx = x + dx
                scratch[y * size + x] = (sx >= 0 && sx < size && sy >= 0 && sy < size) ? image[sy * size + sx] : 0
            }
        }
        copy(scratch, to: image, count: size * size)
    }

    static func flipHorizontal(_ image: UnsafeMutableBufferPointer<Float>, size: Int) {
        for y in 0..<size {
            var l = y * size, r = l + size - 1
            while l < r {
                image.swapAt(l, r)
                l += 1
                r -= 1
            }
        }
    }

    /// out(x, y) = in(a x + b y + c, d x + e y + f), bilinear, 0 outside. Coordinates are
    /// pixel indices, so callers put the center at (size - 1) / 2.
    static func affine(_ image: UnsafeMutableBufferPointer<Float>, size: Int,
                       _ a: Float, _ b: Float, _ c: Float, _ d: Float, _ e: Float, _ f: Float,
                       scratch: UnsafeMutableBufferPointer<Float>) {
        func pixel(_ x: Int, _ y: Int) -> Float {
            (x >= 0 && x < size && y >= 0 && y < size) ? image[y * size + x] : 0
        }
        for y in 0..<size {
            for x in 0..<size {
                let sx = a * Float(x) + b * Float(y) + c, sy = d * Float(x) + e * Float(y) + f
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                let fx = sx - Float(x0), fy = sy - Float(y0)
                let top = pixel(x0, y0) * (1 - fx) + pixel(x0 + 1, y0) * fx
                let bottom = pixel(x0, y0 + 1) * (1 - fx) + pixel(x0 + 1, y0 + 1) * fx
                scratch[y * size + x] = top * (1 - fy) + bottom * fy
            }
        }
        copy(scratch, to: image, count: size * size)
    }

    /// Rotation by `degrees` (counter-clockwise, as PIL) about the image center.
    static func rotate(_ image: UnsafeMutableBufferPointer<Float>, size: Int, degrees: Float,
                       scratch: UnsafeMutableBufferPointer<Float>) {
        let t = degrees * .pi / 180, cosT = cos(t), sinT = sin(t), center = Float(size - 1) / 2
        // Inverse map: rotate output coordinates back by -t (y axis points down).
        affine(image, size: size, cosT, -sinT, center - cosT * center + sinT * center,
               sinT, cosT, center - sinT * center - cosT * center, scratch: scratch)
    }

    /// Blend with a degenerate image, as PIL's ImageEnhance: out = deg + factor (x - deg), clipped.
    static func blend(_ image: UnsafeMutableBufferPointer<Float>, degenerate: (Int) -> Float, factor: Float) {
        for i in image.indices {
            let g = degenerate(i)
            image[i] = min(max(g + factor * (image[i] - g), 0), 1)
        }
    }

    static func autocontrast(_ image: UnsafeMutableBufferPointer<Float>) {
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for v in image {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        guard hi > lo else { return }
        let scale = 1 / (hi - lo)
        for i in image.indices { image[i] = (image[i] - lo) * scale }
    }

    /// PIL's ImageOps.equalize on the image quantized to 8 bits.
    static func equalize(_ image: UnsafeMutableBufferPointer<Float>) {
        var histogram = [Int](repeating: 0, count: 256)
        for v in image { histogram[level(v)] += 1 }
        guard let last = histogram.lastIndex(where: { $0 > 0 }) else { return }
        let step = (image.count - histogram[last]) / 255
        guard step > 0 else { return }
        var lut = [Float](repeating: 0, count: 256)
        var n = step / 2
        for i in 0..<256 {
            lut[i] = Float(min(n / step, 255)) / 255
            n += histogram[i]
        }
        for i in image.indices { image[i] = lut[level(image[i])] }
    }

    static func solarize(_ image: UnsafeMutableBufferPointer<Float>, threshold: Float) {
        for i in image.indices where image[i] >= threshold { image[i] = 1 - image[i] }
    }

    static func posterize(_ image: UnsafeMutableBufferPointer<Float>, bits: Int) {
        guard bits < 8 else { return }
        let mask = ~((1 << (8 - bits)) - 1) & 0xFF
        for i in image.indices { image[i] = Float(level(image[i]) & mask) / 255 }
    }

    static func contrast(_ image: UnsafeMutableBufferPointer<Float>, factor: Float) {
        var sum: Float = 0
        for v in image { sum += v }
        let mean = sum / Float(image.count)
        blend(image, degenerate: { _ in mean }, factor: factor)
    }

    static func brightness(_ image: UnsafeMutableBufferPointer<Float>, factor: Float) {
        blend(image, degenerate: { _ in 0 }, factor: factor)
    }

    /// PIL's SHARPEN-style smoothing (3x3 kernel, center 5, others 1, / 13) on interior
    /// pixels; borders keep their value, as PIL does.
    static func sharpness(_ image: UnsafeMutableBufferPointer<Float>, size: Int, factor: Float,
                          scratch: UnsafeMutableBufferPointer<Float>) {
        copy(image, to: scratch, count: size * size)
        if size > 2 {
            for y in 1..<(size - 1) {
                for x in 1..<(size - 1) {
                    var s: Float = 4 * image[y * size + x]
                    for dy in -1...1 { for dx in -1...1 { s += image[(y + dy) * size + x + dx] } }
                    scratch[y * size + x] = s / 13
                }
            }
        }
        let degenerate = UnsafeBufferPointer(scratch)
        blend(image, degenerate: { degenerate[$0] }, factor: factor)
    }

    @inline(__always) static func level(_ v: Float) -> Int { Int(min(max(v, 0), 1) * 255 + 0.5) }

    static func copy(_ src: UnsafeMutableBufferPointer<Float>, to dst: UnsafeMutableBufferPointer<Float>, count: Int) {
        dst.baseAddress!.update(from: src.baseAddress!, count: count)
    }
}
