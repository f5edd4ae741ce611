import Dense
import Foundation

/// How a dense transfer trains its heads (a table spec's `dense:` section, per scale).
/// Canvases have the backbone's input size (32x32 for the minis), so every backbone sees
/// the shape it was trained on; heads read the deepest stage whose grid is a quarter of
/// the canvas side (stride 4, as Mask R-CNN's and UperNet's finest level).
public struct DenseSettings: Codable, Hashable, Sendable {
    /// frozen: only the heads train (backbone features computed once); finetune: the
    /// backbone trains too, at `backboneLearningRateFactor` x the heads' learning rate.
    public var backbone: String
    /// Canvases made from the 55k pre-training images (training), the 5k validation split
    /// (validation: for choosing the head recipe) and the 10k test split (the reported numbers).
    public var trainCanvases: Int
    public var validationCanvases: Int
    public var testCanvases: Int
    public var epochs: Int
    public var batchSize: Int
    /// AdamW, cosine decay to zero over the run (no warm-up).
    public var learningRate: Double
    public var weightDecay: Double?
    public var backboneLearningRateFactor: Double?
    /// Garments per canvas and their heights in pixels (each range as [low, high]).
    public var objects: [Int]?
    public var objectSide: [Int]?
    /// Width of the heads' hidden convolutions.
    public var hidden: Int?
    /// COCO size buckets by mask area in pixels: small below `smallMax`, large from `mediumMax`.
    public var smallMax: Double?
    public var mediumMax: Double?
    /// Cross-entropy weight of garment pixels against background pixels (weight 1): the
    /// background is most of a canvas, and an unweighted head can settle on it.
    public var foregroundWeight: Double?

    public static let frozen = "frozen", finetune = "finetune"

    public init(backbone: String, trainCanvases: Int, validationCanvases: Int, testCanvases: Int, epochs: Int, batchSize: Int,
                learningRate: Double, weightDecay: Double? = nil, backboneLearningRateFactor: Double? = nil, objects: [Int]? = nil,
                objectSide: [Int]? = nil, hidden: Int? = nil, smallMax: Double? = nil, mediumMax: Double? = nil,
                foregroundWeight: Double? = nil) {
        self.backbone = backbone; self.trainCanvases = trainCanvases; self.validationCanvases = validationCanvases
        self.testCanvases = testCanvases; self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.weightDecay = weightDecay; self.backboneLearningRateFactor = backboneLearningRateFactor; self.objects = objects
        self.objectSide = objectSide; self.hidden = hidden; self.smallMax = smallMax; self.mediumMax = mediumMax
        self.foregroundWeight = foregroundWeight
    }

    public var objectRange: ClosedRange<Int> { let o = objects ?? [1, 3]; return o[0]...o[1] }
    public var sideRange: ClosedRange<Int> { let s = objectSide ?? [8, 24]; return s[0]...s[1] }
    public var hiddenWidth: Int { hidden ?? 64 }
    public var areaRanges: AreaRanges { AreaRanges(smallMax: smallMax ?? 100, mediumMax: mediumMax ?? 200) }
    public var decay: Double { weightDecay ?? 1e-4 }
    public var backboneFactor: Double { backboneLearningRateFactor ?? 0.1 }
    public var garmentWeight: Double { foregroundWeight ?? 3 }
    public var finetunes: Bool { backbone == DenseSettings.finetune }

    /// Problems with the values, one line each (empty: valid).
    public func problems(canvasSide: Int = 32) -> [String] {
        var out: [String] = []
        if ![DenseSettings.frozen, DenseSettings.finetune].contains(backbone) { out.append("backbone must be frozen or finetune (got '\(backbone)')") }
        for (name, v) in [("trainCanvases", trainCanvases), ("validationCanvases", validationCanvases), ("testCanvases", testCanvases),
                          ("epochs", epochs), ("batchSize", batchSize), ("hidden", hiddenWidth)] where v < 1 {
            out.append("\(name) must be at least 1 (got \(v))")
        }
        if !(learningRate > 0) { out.append("learningRate must be > 0 (got \(learningRate))") }
        for (name, r) in [("objects", objects), ("objectSide", objectSide)] {
            if let r, r.count != 2 || r[0] > r[1] || r[0] < 1 { out.append("\(name) must be [low, high] with 1 <= low <= high (got \(r))") }
        }
        if let s = objectSide, s.count == 2, s[1] > canvasSide { out.append("objectSide \(s) exceeds the \(canvasSide)-pixel canvas") }
        if !((smallMax ?? 100) < (mediumMax ?? 200)) { out.append("smallMax must be below mediumMax") }
        return out
    }

    /// Settings as text for Table 11, by the paper's row names.
    public func setting(_ name: String, batchRows: Int? = nil) -> String {
        func g(_ x: Double) -> String { String(format: "%g", x) }
        switch name {
        case "weight_initialization":
            return "the run's backbone (baseline or ScaleKD student, Table 3's run key); heads from scratch"
        case "batch_size": return "\(batchSize) canvases"
        case "learning_rate": return "\(g(learningRate)), cosine to 0 over the run, no warm-up" + (finetunes ? "; backbone x\(g(backboneFactor))" : "")
        case "optimizer": return "AdamW (0.9, 0.999)"
        case "hyper_parameters":
            return "CenterNet head (focal heatmap, L1 size x0.4 and offset x1) at stride 4, width \(hiddenWidth); per-pixel head width \(max(hiddenWidth / 4, 1)) at full resolution, cross-entropy with garment pixels weighted \(g(garmentWeight)); backbone \(backbone)"
        case "weight_decay": return g(decay)
        case "epochs": return "\(epochs) epochs of \(trainCanvases) canvases"
        case "crop_size":
            return "32x32 canvases (the backbone's input), \(objectRange.lowerBound)-\(objectRange.upperBound) garments of \(sideRange.lowerBound)-\(sideRange.upperBound) px; size buckets: small < \(g(areaRanges.smallMax)) px, large >= \(g(areaRanges.mediumMax)) px of mask area"
        case "drop_path_rate": return finetunes ? "the backbone's own (as pre-trained)" : "none (backbone frozen, evaluation mode)"
        default: return "unknown setting '\(name)'"
        }
    }

    public static let settingNames = ["weight_initialization", "batch_size", "learning_rate", "optimizer", "hyper_parameters",
                                      "weight_decay", "epochs", "crop_size", "drop_path_rate"]
}
