import Foundation

/// Grey images kept as the file's raw bytes (h x w) and served as Float, zero-padded to
/// `size` x `size`. Subsets share the byte storage and keep each sample's index in the
/// source file (`sourceIndices`), which is what subset hashes and batches report.
public struct ImageDataset: Sendable {
    public let name: String
    public let classNames: [String]
    public let sourceHeight: Int
    public let sourceWidth: Int
    /// Served side length (28x28 Fashion-MNIST is padded by 2 pixels to 32x32).
    public let size: Int
    /// Per-pixel normalization applied after augmentation: (x - mean) / std on [0, 1] pixels.
    public let mean: Float
    public let std: Float
    public let sourceIndices: [Int]
    public let labels: [Int]
    let pixels: [UInt8]  // every image of the source file, row-major

    public init(name: String, classNames: [String], pixels: [UInt8], labels: [Int], height: Int, width: Int,
                size: Int, mean: Float, std: Float) {
        precondition(pixels.count == labels.count * height * width, "pixel count does not match labels")
        precondition(size >= height && size >= width, "cannot pad \(height)x\(width) to \(size)")
        self.init(name: name, classNames: classNames, pixels: pixels, sourceIndices: Array(labels.indices),
                  labels: labels, height: height, width: width, size: size, mean: mean, std: std)
    }

    private init(name: String, classNames: [String], pixels: [UInt8], sourceIndices: [Int], labels: [Int],
                 height: Int, width: Int, size: Int, mean: Float, std: Float) {
        self.name = name
        self.classNames = classNames
        self.pixels = pixels
        self.sourceIndices = sourceIndices
        self.labels = labels
        self.sourceHeight = height
        self.sourceWidth = width
        self.size = size
        self.mean = mean
        self.std = std
    }

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    public var pixelsPerImage: Int { size * size }

    /// The samples at `positions` (positions in this dataset, not source indices).
    public func subset(_ positions: [Int], name: String) -> ImageDataset {
        ImageDataset(name: name, classNames: classNames, pixels: pixels,
                     sourceIndices: positions.map { sourceIndices[$0] }, labels: positions.map { labels[$0] },
                     height: sourceHeight, width: sourceWidth, size: size, mean: mean, std: std)
    }

    /// Writes image `position` as raw [0, 1] floats, zero-padded and centered, into a
    /// `size * size` buffer. Augmentation works on this raw range (see Augment.swift).
    public func writeRawImage(at position: Int, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= size * size)
        let top = (size - sourceHeight) / 2, left = (size - sourceWidth) / 2
        let base = sourceIndices[position] * sourceHeight * sourceWidth
        out.update(repeating: 0)
        pixels.withUnsafeBufferPointer { src in
            for y in 0..<sourceHeight {
                let row = base + y * sourceWidth, dst = (y + top) * size + left
                for x in 0..<sourceWidth { out[dst + x] = Float(src[row + x]) * (1 / 255) }
            }
        }
    }

    /// (x - mean) / std in place.
    public func normalize(_ image: UnsafeMutableBufferPointer<Float>) {
        let inv = 1 / std
        for i in image.indices { image[i] = (image[i] - mean) * inv }
    }

    /// Image `position`, padded and normalized, without augmentation (for evaluation).
    public func normalizedImage(at position: Int) -> [Float] {
        var image = [Float](repeating: 0, count: size * size)
        image.withUnsafeMutableBufferPointer {
            writeRawImage(at: position, into: $0)
            normalize($0)
        }
        return image
    }

    /// Mean and standard deviation of all source pixels scaled to [0, 1] (unpadded).
    public static func pixelStatistics(_ pixels: [UInt8]) -> (mean: Float, std: Float) {
        var histogram = [Int](repeating: 0, count: 256)
        pixels.withUnsafeBufferPointer { p in
            histogram.withUnsafeMutableBufferPointer { h in for v in p { h[Int(v)] += 1 } }
        }
        var sum = 0.0, sumSquares = 0.0
        for (v, n) in histogram.enumerated() {
            let x = Double(v) / 255
            sum += x * Double(n)
            sumSquares += x * x * Double(n)
        }
        let n = Double(max(pixels.count, 1))
        let mean = sum / n
        return (Float(mean), Float((max(sumSquares / n - mean * mean, 0)).squareRoot()))
    }
}
