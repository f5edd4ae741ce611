import Datasets
import Foundation
import Tensor
import XCTest
import Dense

final class CanvasTests: XCTestCase {
    /// `count` 28x28 "garments": a filled rectangle of random intensities (1...255) with a
    /// random notch cut out, zero elsewhere, labels cycling through 10 classes.
    static func garments(count: Int, seed: UInt64 = 7) -> ImageDataset {
        var rng = RandomGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: count * 784)
        for i in 0..<count {
            let h = 6 + rng.nextInt(below: 20), w = 6 + rng.nextInt(below: 20)
            let top = rng.nextInt(below: 28 - h + 1), left = rng.nextInt(below: 28 - w + 1)
            let notch = 1 + rng.nextInt(below: 4)
            for y in top..<(top + h) {
                for x in left..<(left + w) where !(y - top < notch && x - left < notch) {
                    pixels[i * 784 + y * 28 + x] = UInt8(1 + rng.nextInt(below: 255))
                }
            }
        }
        return ImageDataset(name: "synthetic-garments", classNames: (0..<10).map { "class\($0)" }, pixels: pixels,
                            labels: (0..<count).map { $0 % 10 }, height: 28, width: 28, size: 32, mean: 0.3, std: 0.3)
    }

    let dataset = CanvasTests.garments(count: 200)

    /// The invariants every canvas must satisfy, by construction.
    func assertConsistent(_ canvas: Canvas, _ generator: CanvasGenerator, file: StaticString = #filePath, line: UInt = #line) {
        let config = generator.config, w = canvas.width, h = canvas.height
        XCTAssertEqual(w, config.width, file: file, line: line)
        XCTAssertEqual(h, config.height, file: file, line: line)
        XCTAssertTrue(config.objects.contains(canvas.instances.count), "\(canvas.instances.count) objects", file: file, line: line)
        var owner = [Int](repeating: -1, count: w * h)
        for (k, instance) in canvas.instances.enumerated() {
            XCTAssertGreaterThan(instance.area, 0, file: file, line: line)
            XCTAssertEqual(instance.label, generator.source.labels[instance.sourcePosition], file: file, line: line)
            XCTAssertEqual(instance.sourceIndex, generator.source.sourceIndices[instance.sourcePosition], file: file, line: line)
            // The box is exactly the extent of the mask: every mask pixel inside, every edge touched.
            var minX = Int.max, maxX = Int.min, minY = Int.max, maxY = Int.min
            for y in 0..<h {
                for x in 0..<w where instance.mask[x, y] {
                    minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                    XCTAssertEqual(owner[y * w + x], -1, "masks \(owner[y * w + x]) and \(k) share a pixel", file: file, line: line)
                    owner[y * w + x] = k
                }
            }
            XCTAssertEqual(instance.box, Box(x: Double(minX), y: Double(minY), width: Double(maxX - minX + 1),
                                             height: Double(maxY - minY + 1)), file: file, line: line)
            // The mask lies inside the pasted frame, and the frame inside the canvas.
            let f = instance.frame
            XCTAssertTrue(f.x >= 0 && f.y >= 0 && f.x + f.width <= Double(w) && f.y + f.height <= Double(h), file: file, line: line)
            XCTAssertTrue(Double(minX) >= f.x && Double(maxX) < f.x + f.width && Double(minY) >= f.y && Double(maxY) < f.y + f.height,
                          file: file, line: line)
            for other in canvas.instances.prefix(k) {
                XCTAssertLessThanOrEqual(other.box.iou(instance.box), config.maxBoxIoU, file: file, line: line)
            }
        }
        // Semantic map, masks and pixels agree: label + 1 exactly on mask pixels, pixels above
        // the threshold exactly on mask pixels.
        for i in 0..<(w * h) {
            let expected = owner[i] < 0 ? 0 : canvas.instances[owner[i]].label + 1
            XCTAssertEqual(Int(canvas.semantic[i]), expected, "pixel \(i)", file: file, line: line)
            XCTAssertEqual(canvas.pixels[i] > config.maskThreshold, owner[i] >= 0, "pixel \(i)", file: file, line: line)
            XCTAssertTrue((0...1).contains(canvas.pixels[i]), file: file, line: line)
        }
    }

    func testCanvasesAreConsistentByConstruction() {
        for config in [CanvasConfig(), CanvasConfig(width: 96, height: 80, objects: 2...5, objectSide: 8...48, resize: .nearest,
                                                    maskThreshold: 0.2, maxBoxIoU: 0)] {
            let generator = CanvasGenerator(source: dataset, config: config, seed: 3)
            for canvas in generator.canvases(0..<60) { assertConsistent(canvas, generator) }
        }
    }

    func testDeterministicAndOrderFree() {
        let a = CanvasGenerator(source: dataset, seed: 11), b = CanvasGenerator(source: dataset, seed: 11)
        let batch = a.canvases(0..<12)
        XCTAssertEqual(batch[7], b.canvas(7))
        XCTAssertEqual(batch[7], a.canvas(7))
        XCTAssertEqual(batch.map(\.index), Array(0..<12))
        XCTAssertNotEqual(a.canvas(7), a.canvas(8))
        XCTAssertNotEqual(a.canvas(7).pixels, CanvasGenerator(source: dataset, seed: 12).canvas(7).pixels)
    }

    func testObjectCountBounds() {
        let generator = CanvasGenerator(source: dataset, config: CanvasConfig(objects: 1...4), seed: 5)
        var seen = Set<Int>()
        for canvas in generator.canvases(0..<200) {
            XCTAssertTrue((1...4).contains(canvas.instances.count))
            seen.insert(canvas.instances.count)
        }
        XCTAssertEqual(seen, [1, 2, 3, 4])
        // A fixed count is met exactly, even when crowded (disjoint boxes, large garments).
        let crowded = CanvasGenerator(source: dataset, config: CanvasConfig(objects: 3...3, objectSide: 20...30, maxBoxIoU: 0), seed: 5)
        for canvas in crowded.canvases(0..<40) { XCTAssertEqual(canvas.instances.count, 3) }
    }

    func testNearestAtNativeSizeCopiesTheSourcePixels() {
        let config = CanvasConfig(width: 40, height: 40, objects: 1...1, objectSide: 28...28, aspect: 1...1, resize: .nearest)
        let generator = CanvasGenerator(source: dataset, config: config, seed: 1)
        for canvas in generator.canvases(0..<10) {
            let instance = canvas.instances[0]
            var raw = [Float](repeating: 0, count: 32 * 32)
            raw.withUnsafeMutableBufferPointer { dataset.writeRawImage(at: instance.sourcePosition, into: $0) }
            let x0 = Int(instance.frame.x), y0 = Int(instance.frame.y)
            for y in 0..<28 {
                for x in 0..<28 { XCTAssertEqual(canvas.pixels[(y0 + y) * 40 + x0 + x], raw[(y + 2) * 32 + x + 2]) }
            }
            XCTAssertEqual(instance.area, raw.filter { $0 > 0 }.count)
        }
    }

    func testDisjointSourcesNeverShareImages() {
        let first = dataset.subset(Array(0..<100), name: "first"), second = dataset.subset(Array(100..<200), name: "second")
        func used(_ source: ImageDataset) -> Set<Int> {
            let generator = CanvasGenerator(source: source, seed: 9)
            let canvases = generator.canvases(0..<150)
            for canvas in canvases.prefix(10) { assertConsistent(canvas, generator) }
            return Set(canvases.flatMap { $0.instances.map(\.sourceIndex) })
        }
        let a = used(first), b = used(second)
        XCTAssertTrue(a.isDisjoint(with: b))
        XCTAssertTrue(a.isSubset(of: Set(first.sourceIndices)))
        XCTAssertTrue(b.isSubset(of: Set(second.sourceIndices)))
        XCTAssertGreaterThan(a.count, 50)  // the canvases do draw widely from their source
    }

    func testGroundTruthScoresPerfectly() {
        // The canvas annotations as predictions: AP 1 for boxes and masks, mIoU 1.
        let generator = CanvasGenerator(source: dataset, config: CanvasConfig(width: 96, height: 96), seed: 2)
        let canvases = generator.canvases(0..<20)
        let boxes = canvases.map { c in
            EvaluationImage(groundTruth: c.boxAnnotations,
                            detections: c.instances.map { Detection(category: $0.label, score: 1, region: $0.box) })
        }
        let masks = canvases.map { c in
            EvaluationImage(groundTruth: c.maskAnnotations,
                            detections: c.instances.map { Detection(category: $0.label, score: 1, region: $0.mask) })
        }
        let ranges = AreaRanges.forCanvas(side: 96)
        XCTAssertEqual(COCOEval.evaluateBoxes(boxes, categoryCount: 10, areaRanges: ranges).summary.ap!, 1, accuracy: 1e-12)
        XCTAssertEqual(COCOEval.evaluateMasks(masks, categoryCount: 10, areaRanges: ranges).summary.ap!, 1, accuracy: 1e-12)
        var confusion = ConfusionMatrix(classCount: generator.semanticClassCount)
        for c in canvases { confusion.add(truth: c.semantic, predicted: c.semantic) }
        XCTAssertEqual(confusion.meanIoU, 1)
    }

    func testRealFashionMNISTTestCanvases() throws {
        // On the real test split when the Debian package is installed (skipped otherwise).
        let manifestPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data-manifests/fashion-mnist.yaml").path
        let manifest = try FashionMNISTManifest.load(from: manifestPath)
        guard FileManager.default.fileExists(atPath: manifest.directory) else {
            throw XCTSkip("Fashion-MNIST is not installed at \(manifest.directory)")
        }
        let data = try FashionMNIST.load(manifest: manifest, verifyHashes: false)
        let generator = CanvasGenerator(source: data.testSet, config: CanvasConfig(width: 96, height: 96), seed: 0)
        for canvas in generator.canvases(0..<30) { assertConsistent(canvas, generator) }
    }
}
