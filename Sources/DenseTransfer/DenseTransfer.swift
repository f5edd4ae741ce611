import Datasets
import Dense
import Foundation
import Models
import NN
import Tensor

/// What one transfer measured on a set of canvases. AP values in percent (COCO's stats x 100),
/// nil where COCO prints -1 (no ground truth in that size bucket).
public struct DenseMetrics: Codable, Equatable, Sendable {
    public var box: [Double?]
    public var mask: [Double?]
    public var mIoU: Double?
    public var pixelAccuracy: Double?
    /// Ground-truth objects per size bucket (small, medium, large).
    public var objectsPerBucket: [Int]
    /// Fraction of canvas pixels the segmentation head calls a garment, and the true fraction.
    public var predictedForeground: Double
    public var trueForeground: Double
    /// Detections scoring at least 0.3, and the ground-truth objects.
    public var confidentDetections: Int
    public var objects: Int

    public init(box: [Double?], mask: [Double?], mIoU: Double?, pixelAccuracy: Double?, objectsPerBucket: [Int],
                predictedForeground: Double, trueForeground: Double, confidentDetections: Int, objects: Int) {
        self.box = box; self.mask = mask; self.mIoU = mIoU; self.pixelAccuracy = pixelAccuracy
        self.objectsPerBucket = objectsPerBucket; self.predictedForeground = predictedForeground
        self.trueForeground = trueForeground; self.confidentDetections = confidentDetections; self.objects = objects
    }

    /// The table metric names (tables/README.md): box_ap, box_ap50, box_ap75, box_ap_s,
    /// box_ap_m, box_ap_l, the same with mask_, and miou.
    public static let names = ["box_ap", "box_ap50", "box_ap75", "box_ap_s", "box_ap_m", "box_ap_l",
                               "mask_ap", "mask_ap50", "mask_ap75", "mask_ap_s", "mask_ap_m", "mask_ap_l", "miou"]

    public func value(named name: String) -> Double? {
        if name == "miou" { return mIoU }
        guard let i = Self.names.firstIndex(of: name) else { return nil }
        return i < 6 ? box[i] : mask[i - 6]
    }

    /// Reasons the heads collapsed (empty: they did not): a segmentation head that calls
    /// (nearly) nothing a garment, a detection head with no confident detection.
    public var collapse: [String] {
        var out: [String] = []
        if trueForeground > 0 && predictedForeground < 0.1 * trueForeground {
            out.append(String(format: "segmentation head predicts %.2f%% garment pixels (truth %.2f%%): collapsed to background",
                              100 * predictedForeground, 100 * trueForeground))
        }
        if objects > 0 && confidentDetections == 0 { out.append("detection head has no detection scoring 0.3 or more: collapsed") }
        return out
    }
}

/// A detection head and a segmentation head trained together on canvases over a backbone's
/// stride-4 stage (frozen or fine-tuned), then evaluated: box AP and mask AP (COCO) and mIoU
/// (mmseg). A detection's mask is the segmentation head's garment pixels inside its box
/// (box-cropped foreground).
public final class DenseTransferModel {
    public let backbone: ImageClassifier
    public let settings: DenseSettings
    /// Index of the stage the heads read, its channels and grid.
    public let stage: Int
    public let coder: CenterNetCoder
    public let detection: DetectionHead
    public let segmentation: SegmentationHead
    public let side: Int
    let classes: Int
    let mean: Float, std: Float

    /// `mean`/`std`: the normalisation the backbone was trained with (its dataset's).
    public init(backbone: ImageClassifier, inputSize: Int, classes: Int, settings: DenseSettings, seed: UInt64,
                mean: Float, std: Float) throws {
        guard inputSize % 4 == 0, let stage = backbone.stageGrids.lastIndex(of: inputSize / 4) else {
            throw DenseTransferError("the backbone has no stage with a \(inputSize / 4)x\(inputSize / 4) grid (stride 4 of its \(inputSize)-pixel input); its grids are \(backbone.stageGrids)")
        }
        self.backbone = backbone
        self.settings = settings
        self.stage = stage
        self.side = inputSize
        self.classes = classes
        self.mean = mean
        self.std = std
        coder = CenterNetCoder(classes: classes, grid: inputSize / 4, stride: 4)
        var rng = RandomGenerator(seed: seed, stream: 0x4445_4E53)  // "DENS"
        let channels = backbone.stageChannels[stage]
        detection = DetectionHead(inChannels: channels, hidden: settings.hiddenWidth, classes: classes, rng: &rng)
        // A quarter of the width at full resolution: that convolution dominates the heads' cost.
        segmentation = SegmentationHead(inChannels: channels, hidden: max(settings.hiddenWidth / 4, 1), classes: classes, factor: 4, rng: &rng)
    }

    /// Normalised canvas pixels [N, 1, side, side].
    func images(_ canvases: ArraySlice<Canvas>) -> Tensor {
        var values: [Float] = []
        values.reserveCapacity(canvases.count * side * side)
        for c in canvases {
            precondition(c.width == side && c.height == side, "canvas \(c.width)x\(c.height) is not \(side)x\(side)")
            values += c.pixels.map { ($0 - mean) / std }
        }
        return Tensor(shape: [canvases.count, 1, side, side], values: values)
    }

    func features(_ x: Tensor) -> Tensor { backbone.stageFeatures(x).stages[stage] }

    /// Features of every canvas with the backbone in evaluation mode (frozen training and
    /// evaluation), in chunks.
    func frozenFeatures(_ canvases: [Canvas]) -> [Tensor] {
        backbone.setTraining(false)
        return withoutGrad {
            stride(from: 0, to: canvases.count, by: 64).map { features(images(canvases[$0..<min($0 + 64, canvases.count)])) }
        }
    }

    /// Rows `rows` of features computed in chunks of `chunk`, as one tensor.
    static func gather(_ chunks: [Tensor], _ rows: [Int], chunk: Int = 64) -> Tensor {
        let per = chunks[0].count / chunks[0].shape[0]
        var values: [Float] = []
        values.reserveCapacity(rows.count * per)
        for i in rows {
            let t = chunks[i / chunk], r = i % chunk
            values += UnsafeBufferPointer(start: t.pointer + r * per, count: per)
        }
        return Tensor(shape: [rows.count] + chunks[0].shape.dropFirst(), values: values)
    }

    /// The heads' losses on one batch, by term, and their weighted sum.
    public func losses(features f: Tensor, canvases: ArraySlice<Canvas>) -> (total: Tensor, terms: [String: Float]) {
        let n = canvases.count, g = coder.grid
        var heat: [Float] = [], size: [Float] = [], offset: [Float] = [], centers: [Float] = [], labels: [Int] = []
        var objects = 0
        for c in canvases {
            let t = coder.encode(c.instances.map { ($0.label, $0.box) })
            heat += t.heatmap; size += t.size; offset += t.offset; centers += t.centers
            objects += t.objectCount
            labels += c.semantic.map(Int.init)
        }
        let out = detection(f)
        let centerMask = Tensor(shape: [n, 1, g, g], values: centers)
        let focal = DenseLosses.focal(logits: out.heatmap, targets: Tensor(shape: [n, classes, g, g], values: heat), objects: objects)
        let sizeL1 = DenseLosses.centerL1(out.size, Tensor(shape: [n, 2, g, g], values: size), centers: centerMask, objects: objects)
        let offsetL1 = DenseLosses.centerL1(out.offset, Tensor(shape: [n, 2, g, g], values: offset), centers: centerMask, objects: objects)
        let seg = DenseLosses.weightedCrossEntropy(logits: segmentation(f, image: images(canvases)), labels: labels,
                                                   foregroundWeight: Float(settings.garmentWeight))
        // CenterNet's weights: size 0.1 on pixel sizes, here in cells of 4 pixels (0.4); offset 1.
        let total = focal + sizeL1 * 0.4 + offsetL1 + seg
        return (total, ["heatmap": focal.scalar, "size": sizeL1.scalar, "offset": offsetL1.scalar, "segmentation": seg.scalar])
    }

    /// Trains the heads (and with `finetune` the backbone) on `canvases`; returns the mean of
    /// each loss term per epoch.
    public func train(_ canvases: [Canvas], seed: UInt64, progress: (String) -> Void = { _ in }) throws -> [[String: Double]] {
        let s = settings
        let heads = ModuleGroupOfTwo(detection, segmentation)
        let headOptimizer = AdamW(parameterSlots(heads.namedParameters(), weightDecay: Float(s.decay)))
        let backboneOptimizer = s.finetunes ? AdamW(parameterSlots(backbone.namedParameters(), weightDecay: Float(s.decay))) : nil
        let cached = s.finetunes ? nil : frozenFeatures(canvases)
        if s.finetunes { backbone.setTraining(true) } else { backbone.freeze() }
        var rng = RandomGenerator(seed: seed, stream: 0x5348_5546)  // "SHUF"
        let steps = (canvases.count + s.batchSize - 1) / s.batchSize, total = max(1, steps * s.epochs)
        var step = 0, history: [[String: Double]] = []
        for epoch in 0..<s.epochs {
            var order = Array(0..<canvases.count)
            rng.shuffle(&order)
            var sums: [String: Double] = [:]
            for b in 0..<steps {
                let idx = Array(order[(b * s.batchSize)..<min((b + 1) * s.batchSize, order.count)])
                let batch = ArraySlice(idx.map { canvases[$0] })
                let f: Tensor
                if let cached {
                    f = Self.gather(cached, idx)
                } else {
                    f = features(images(batch))
                }
                let (loss, terms) = losses(features: f, canvases: batch)
                guard loss.scalar.isFinite else {
                    throw DenseTransferError("dense transfer: non-finite loss at epoch \(epoch + 1), step \(b + 1) (\(terms)); lower learningRate in the spec's dense settings")
                }
                headOptimizer.zeroGradients()
                backboneOptimizer?.zeroGradients()
                loss.backward()
                let lr = s.learningRate * 0.5 * (1 + cos(Double.pi * Double(step) / Double(total)))
                headOptimizer.step(learningRate: Float(lr))
                backboneOptimizer?.step(learningRate: Float(lr * s.backboneFactor))
                for (k, v) in terms { sums[k, default: 0] += Double(v) * Double(idx.count) }
                step += 1
            }
            let means = sums.mapValues { $0 / Double(canvases.count) }
            history.append(means)
            progress("epoch \(epoch + 1)/\(s.epochs): " + means.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", "))
        }
        return history
    }

    /// Box AP, mask AP and mIoU on `canvases`.
    public func evaluate(_ canvases: [Canvas]) -> DenseMetrics {
        backbone.setTraining(false)
        var boxImages: [EvaluationImage<Box>] = [], maskImages: [EvaluationImage<BinaryMask>] = []
        var confusion = ConfusionMatrix(classCount: classes + 1)
        var predictedFG = 0, trueFG = 0, confident = 0, objects = 0
        let g = coder.grid, cells = g * g
        withoutGrad {
            for start in stride(from: 0, to: canvases.count, by: 64) {
                let batch = canvases[start..<min(start + 64, canvases.count)]
                let x = images(batch)
                let f = features(x)
                let out = detection(f)
                let heat = out.heatmap.sigmoid().values, size = out.size.values, offset = out.offset.values
                let logits = segmentation(f, image: x)
                let k = classes + 1, pixels = side * side
                let lv = logits.values
                for (i, canvas) in batch.enumerated() {
                    var predicted = [Int](repeating: 0, count: pixels)
                    for p in 0..<pixels {
                        var best = 0, bestV = -Float.infinity
                        for c in 0..<k where lv[(i * k + c) * pixels + p] > bestV { bestV = lv[(i * k + c) * pixels + p]; best = c }
                        predicted[p] = best
                    }
                    confusion.add(truth: canvas.semantic, predicted: predicted)
                    predictedFG += predicted.filter { $0 != 0 }.count
                    trueFG += canvas.semantic.filter { $0 != 0 }.count
                    let detections = coder.decode(heatmap: Array(heat[(i * classes * cells)..<((i + 1) * classes * cells)]),
                                                  size: Array(size[(i * 2 * cells)..<((i + 1) * 2 * cells)]),
                                                  offset: Array(offset[(i * 2 * cells)..<((i + 1) * 2 * cells)]))
                    confident += detections.filter { $0.score >= 0.3 }.count
                    objects += canvas.instances.count
                    boxImages.append(EvaluationImage(groundTruth: canvas.boxAnnotations, detections: detections))
                    maskImages.append(EvaluationImage(groundTruth: canvas.maskAnnotations, detections: detections.map {
                        Detection(category: $0.category, score: $0.score, region: croppedForeground(predicted, $0.region))
                    }))
                }
            }
        }
        let ranges = settings.areaRanges
        let box = COCOEval.evaluateBoxes(boxImages, categoryCount: classes, areaRanges: ranges).summary
        let mask = COCOEval.evaluateMasks(maskImages, categoryCount: classes, areaRanges: ranges).summary
        var buckets = [0, 0, 0]
        for c in canvases {
            for inst in c.instances {
                let a = Double(inst.area)
                buckets[a < ranges.smallMax ? 0 : a < ranges.mediumMax ? 1 : 2] += 1
            }
        }
        let total = Double(canvases.count * side * side)
        return DenseMetrics(box: box.stats.map { $0.map { $0 * 100 } }, mask: mask.stats.map { $0.map { $0 * 100 } },
                            mIoU: confusion.meanIoU.map { $0 * 100 }, pixelAccuracy: confusion.pixelAccuracy.map { $0 * 100 },
                            objectsPerBucket: buckets, predictedForeground: Double(predictedFG) / total,
                            trueForeground: Double(trueFG) / total, confidentDetections: confident, objects: objects)
    }

    /// The garment pixels (any class) of a predicted map inside a box.
    func croppedForeground(_ predicted: [Int], _ box: Box) -> BinaryMask {
        var bits = [Bool](repeating: false, count: side * side)
        let x0 = max(0, Int(box.x.rounded(.down))), x1 = min(side, Int((box.x + box.width).rounded(.up)))
        let y0 = max(0, Int(box.y.rounded(.down))), y1 = min(side, Int((box.y + box.height).rounded(.up)))
        if x0 < x1 && y0 < y1 {
            for y in y0..<y1 { for x in x0..<x1 where predicted[y * side + x] != 0 { bits[y * side + x] = true } }
        }
        return BinaryMask(width: side, height: side, bits: bits)
    }
}

/// Two modules as one, for one optimizer over both heads.
final class ModuleGroupOfTwo: Module {
    let detection: Module
    let segmentation: Module
    init(_ a: Module, _ b: Module) { detection = a; segmentation = b; super.init() }
}

public struct DenseTransferError: Error, CustomStringConvertible {
    public let description: String
    /// The backbone run is known (results store) but its checkpoint is not on this machine.
    public let missingWeights: Bool
    public init(_ d: String, missingWeights: Bool = false) { description = d; self.missingWeights = missingWeights }
}
