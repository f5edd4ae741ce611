import Datasets
import Dense
import DenseTransfer
import Foundation
import Models
import Tensor
import TestSupport
import XCTest

final class CenterNetCoderTests: XCTestCase {
    let coder = CenterNetCoder(classes: 10, grid: 8, stride: 4)

    /// Hand-built boxes (centers in distinct cells, fractional sizes and positions) come back
    /// exactly, with their labels and score 1, from their own targets.
    func testTargetsDecodeToTheirBoxes() {
        let objects: [(label: Int, box: Box)] = [
            (3, Box(x: 2, y: 3, width: 9, height: 11)),
            (7, Box(x: 17.5, y: 4, width: 12, height: 8.5)),
            (3, Box(x: 10, y: 18, width: 20, height: 13)),
            (0, Box(x: 0, y: 26, width: 5, height: 6)),
        ]
        let t = coder.encode(objects)
        XCTAssertEqual(t.objectCount, 4)
        XCTAssertEqual(t.centers.reduce(0, +), 4)
        XCTAssertEqual(t.heatmap.filter { $0 == 1 }.count, 4, "one exact peak per object")
        let decoded = coder.decode(heatmap: t.heatmap, size: t.size, offset: t.offset, threshold: 0.99)
        XCTAssertEqual(decoded.count, 4)
        for (label, box) in objects {
            guard let d = decoded.first(where: { $0.category == label && abs($0.region.x - box.x) < 1e-4 && abs($0.region.y - box.y) < 1e-4 }) else {
                XCTFail("box \(box) of class \(label) not decoded (got \(decoded.map(\.region)))"); continue
            }
            XCTAssertEqual(d.score, 1)
            XCTAssertEqual(d.region.width, box.width, accuracy: 1e-4)
            XCTAssertEqual(d.region.height, box.height, accuracy: 1e-4)
        }
    }

    /// The Gaussian is spread by CenterNet's radius, and a neighbour cell is no peak.
    func testGaussianRadiusAndPeakSuppression() {
        // Reference values from CenterNet's gaussian_radius (min_overlap 0.7) in Python.
        XCTAssertEqual(CenterNetCoder.gaussianRadius(height: 4, width: 6, minOverlap: 0.7), 1.3162491545167168, accuracy: 1e-12)
        XCTAssertEqual(CenterNetCoder.gaussianRadius(height: 2, width: 2, minOverlap: 0.7), 0.5466401061363024, accuracy: 1e-12)
        let t = coder.encode([(1, Box(x: 8, y: 8, width: 16, height: 24))])  // 4x6 cells: radius 1
        let cells = 64, center = 5 * 8 + 4  // center (16, 20) px: cell (4, 5)
        XCTAssertEqual(t.heatmap[cells + center], 1)
        XCTAssertGreaterThan(t.heatmap[cells + center + 1], 0.01)
        XCTAssertLessThan(t.heatmap[cells + center + 1], 1)
        XCTAssertEqual(t.heatmap[cells + center + 2], 0, "outside the radius")
        XCTAssertEqual(coder.decode(heatmap: t.heatmap, size: t.size, offset: t.offset, threshold: 0.01).count, 1)
    }
}

final class DenseHeadTests: XCTestCase {
    func testOutputShapes() {
        var rng = RandomGenerator(seed: 1)
        let det = DetectionHead(inChannels: 16, hidden: 8, classes: 10, rng: &rng)
        let seg = SegmentationHead(inChannels: 16, hidden: 8, classes: 10, factor: 4, rng: &rng)
        let f = randomTensor([2, 16, 8, 8], seed: 2), image = randomTensor([2, 1, 32, 32], seed: 3)
        let out = det(f)
        XCTAssertEqual(out.heatmap.shape, [2, 10, 8, 8])
        XCTAssertEqual(out.size.shape, [2, 2, 8, 8])
        XCTAssertEqual(out.offset.shape, [2, 2, 8, 8])
        XCTAssertEqual(seg(f, image: image).shape, [2, 11, 32, 32])
        // The heatmap starts at CenterNet's prior: sigmoid(-2.19) ~ 0.1 on average.
        let mean = out.heatmap.sigmoid().values.reduce(0, +) / Float(out.heatmap.count)
        XCTAssertEqual(mean, 0.1, accuracy: 0.05)
    }

    func testUpsampleNearestRepeatsBlocks() {
        let x = Tensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4])
        XCTAssertEqual(upsampleNearest(x, factor: 2).values, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    func testGradients() {
        assertGradientsMatch([randomTensor([2, 3, 2, 2], seed: 4)]) { upsampleNearest($0[0], factor: 3) }
        assertGradientsMatch([randomTensor([3, 7], seed: 5, lo: -6, hi: 6)]) { $0[0].logSigmoid() }
        let targets = CenterNetCoder(classes: 2, grid: 4, stride: 4).encode([(0, Box(x: 2, y: 2, width: 6, height: 6)), (1, Box(x: 9, y: 8, width: 5, height: 7))])
        let heat = Tensor(shape: [1, 2, 4, 4], values: targets.heatmap)
        assertGradientsMatch([randomTensor([1, 2, 4, 4], seed: 6, lo: -3, hi: 3)]) {
            DenseLosses.focal(logits: $0[0], targets: heat, objects: 2).reshaped([1])
        }
        let centers = Tensor(shape: [1, 1, 4, 4], values: targets.centers), size = Tensor(shape: [1, 2, 4, 4], values: targets.size)
        assertGradientsMatch([randomTensor([1, 2, 4, 4], seed: 7, lo: 0, hi: 3)]) {
            DenseLosses.centerL1($0[0], size, centers: centers, objects: 2).reshaped([1])
        }
        let labels = (0..<(2 * 3 * 3)).map { $0 % 4 }
        assertGradientsMatch([randomTensor([2, 4, 3, 3], seed: 8)]) {
            DenseLosses.weightedCrossEntropy(logits: $0[0], labels: labels, foregroundWeight: 3).reshaped([1])
        }
    }

    /// Extreme logits keep every loss finite (log-sigmoid, not log of a saturated sigmoid).
    func testLogSigmoidIsFiniteAtExtremes() {
        let x = Tensor(shape: [4], values: [-200, -30, 30, 200])
        let y = x.logSigmoid().values
        XCTAssertEqual(y[0], -200, accuracy: 1e-3)
        XCTAssertEqual(y[3], 0, accuracy: 1e-6)
        XCTAssertTrue(y.allSatisfy(\.isFinite))
    }

    /// The weighted cross-entropy with weight 1 is the plain mean cross-entropy.
    func testWeightedCrossEntropyReducesToPlain() {
        let logits = randomTensor([1, 3, 2, 2], seed: 9, requiresGrad: false), labels = [0, 1, 2, 1]
        let plain = logits.permuted([0, 2, 3, 1]).reshaped([4, 3]).crossEntropy(labels: labels).scalar
        XCTAssertEqual(DenseLosses.weightedCrossEntropy(logits: logits, labels: labels, foregroundWeight: 1).scalar, plain, accuracy: 1e-5)
    }
}

final class DenseTrainingTests: XCTestCase {
    /// Synthetic 28x28 garments: a filled rectangle whose height encodes the class (zero elsewhere).
    static func garments(count: Int) -> ImageDataset {
        var pixels = [UInt8](repeating: 0, count: count * 784)
        for i in 0..<count {
            let label = i % 10, h = 8 + 2 * label, top = (28 - h) / 2
            for y in top..<(top + h) { for x in 6..<22 { pixels[i * 784 + y * 28 + x] = 200 } }
        }
        return ImageDataset(name: "synthetic", classNames: (0..<10).map { "c\($0)" }, pixels: pixels,
                            labels: (0..<count).map { $0 % 10 }, height: 28, width: 28, size: 32, mean: 0.3, std: 0.3)
    }

    /// A few epochs on a few canvases over a random frozen ResNet-mini: every loss term falls,
    /// and the evaluation runs end to end with metrics in range.
    func testTinyTrainingLearns() throws {
        let settings = DenseSettings(backbone: DenseSettings.frozen, trainCanvases: 24, validationCanvases: 8, testCanvases: 8, epochs: 25,
                                     batchSize: 8, learningRate: 0.003, objects: [1, 2], objectSide: [10, 24], hidden: 16)
        XCTAssertEqual(settings.problems(), [])
        let source = Self.garments(count: 50)
        let config = DenseRuns.canvasConfig(settings, side: 32)
        let train = CanvasGenerator(source: source, config: config, seed: 1).canvases(0..<24)
        var rng = RandomGenerator(seed: 0)
        let backbone = ResNet(ResNet.miniConfig, rng: &rng)
        let model = try DenseTransferModel(backbone: backbone, inputSize: 32, classes: 10, settings: settings, seed: 0, mean: 0.3, std: 0.3)
        XCTAssertEqual(model.stage, 2, "ResNet-mini's stride-4 stage is its third")
        let history = try model.train(train, seed: 0)
        XCTAssertEqual(history.count, 25)
        for term in ["heatmap", "size", "offset", "segmentation"] {
            XCTAssertLessThan(history.last![term]!, 0.9 * history.first![term]!, "\(term) did not fall: \(history.first![term]!) -> \(history.last![term]!)")
        }
        let metrics = model.evaluate(train)
        XCTAssertEqual(metrics.objects, train.map(\.instances.count).reduce(0, +))
        XCTAssertGreaterThan(metrics.predictedForeground, 0, "segmentation head collapsed to background")
        XCTAssertTrue(metrics.collapse.isEmpty, "\(metrics.collapse)")
        for v in metrics.box.compactMap({ $0 }) + [metrics.mIoU!] { XCTAssertTrue((0...100).contains(v)) }
    }

    func testSettingsProblemsAndMetricNames() {
        var s = DenseSettings(backbone: "thawed", trainCanvases: 0, validationCanvases: 1, testCanvases: 1, epochs: 1, batchSize: 1,
                              learningRate: 0, objectSide: [8, 40], smallMax: 200, mediumMax: 100)
        let problems = s.problems()
        XCTAssertEqual(problems.count, 5, "\(problems)")
        s.backbone = DenseSettings.finetune
        XCTAssertTrue(s.finetunes)
        let m = DenseMetrics(box: [1, 2, 3, 4, nil, 6], mask: [7, 8, 9, 10, 11, 12], mIoU: 13, pixelAccuracy: 90, objectsPerBucket: [1, 0, 1],
                             predictedForeground: 0, trueForeground: 0.2, confidentDetections: 0, objects: 2)
        XCTAssertEqual(m.value(named: "box_ap_s"), 4)
        XCTAssertNil(m.value(named: "box_ap_m"))
        XCTAssertEqual(m.value(named: "mask_ap75"), 9)
        XCTAssertEqual(m.value(named: "miou"), 13)
        XCTAssertEqual(m.collapse.count, 2, "both collapses are reported")
    }
}
