import Datasets
import Foundation
import NN

/// The optimisation recipe of a run: the paper's "traditional" and "advanced"
/// strategies (Table 10), scaled to the small analog.
public struct TrainingStrategy: Codable, Equatable, Sendable {
    public enum OptimizerKind: String, Codable, Sendable { case sgd, adamw, lamb }
    public var name: String
    public var optimizer: OptimizerKind
    public var learningRate: Float
    public var weightDecay: Float
    public var momentum: Float = 0.9
    public var nesterov: Bool = false
    public var schedule: LRSchedule.Kind
    public var milestonesFraction: [Double] = []
    public var warmupEpochs: Double = 0
    public var warmupStartFactor: Float = 0
    public var minLRFraction: Float = 0
    public var labelSmoothing: Float = 0
    public var gradientClip: Float? = nil
    public var augmentation: Augmentation

    /// SGD with momentum, step decay, crop + flip (ResNet's traditional recipe).
    public static let traditional = TrainingStrategy(
        name: "traditional", optimizer: .sgd, learningRate: 0.05, weightDecay: 5e-4, momentum: 0.9,
        schedule: .cosine, augmentation: .traditional)

    /// AdamW, warm-up + cosine, label smoothing, RandAugment + random erasing, clipping.
    public static let advanced = TrainingStrategy(
        name: "advanced", optimizer: .adamw, learningRate: 2e-3, weightDecay: 0.05, schedule: .cosine,
        warmupEpochs: 5, warmupStartFactor: 0.01, minLRFraction: 0.01, labelSmoothing: 0.1, gradientClip: 5,
        augmentation: .advanced)

    public static func named(_ name: String) -> TrainingStrategy? {
        ["traditional": traditional, "advanced": advanced][name]
    }
}

/// Which images a run trains and evaluates on (DESIGN.md's small-scale analog).
public struct DataSplit: Codable, Equatable, Sendable {
    public enum Train: String, Codable, Sendable {
        case pretrain   // the 55k training images outside the validation split (the IN-22K analog)
        case student    // a seeded class-balanced subset (the IN-1K analog)
    }
    public var train: Train
    public var perClass: Int = 100
    public var subsetSeed: UInt64 = 0
    /// Test images per class; nil = the whole 10k test set.
    public var testPerClass: Int? = nil
    /// Validation images per class; nil = the whole 5k validation split.
    public var validationPerClass: Int? = nil

    public init(train: Train, perClass: Int = 100, subsetSeed: UInt64 = 0, testPerClass: Int? = nil,
                validationPerClass: Int? = nil) {
        self.train = train; self.perClass = perClass; self.subsetSeed = subsetSeed; self.testPerClass = testPerClass
        self.validationPerClass = validationPerClass
    }
}

/// A fully resolved run. Its hash names its directory under runs/, so identical runs
/// requested by different tables train once.
public struct RunConfig: Codable, Equatable, Sendable {
    public var model: String
    public var split: DataSplit
    public var strategy: TrainingStrategy
    public var epochs: Int
    public var batchSize: Int
    public var seed: UInt64
    /// Distillation method (nil = plain supervised training); see Distill.
    public var method: MethodConfig?
    public var teacher: String?
    /// Checkpoint to start from (fine-tuning); a path or a run key.
    public var initFrom: String?
    public var scale: String

    public init(model: String, split: DataSplit, strategy: TrainingStrategy, epochs: Int, batchSize: Int,
                seed: UInt64, method: MethodConfig? = nil, teacher: String? = nil, initFrom: String? = nil, scale: String) {
        self.model = model; self.split = split; self.strategy = strategy; self.epochs = epochs
        self.batchSize = batchSize; self.seed = seed; self.method = method; self.teacher = teacher
        self.initFrom = initFrom; self.scale = scale
    }

    public var canonicalJSON: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    /// First 16 hex digits of the SHA-256 of the canonical JSON.
    public var key: String { String(SHA256.hexDigest(canonicalJSON).prefix(16)) }
}

/// Placeholder-free description of a distillation method; interpreted by Distill.
public struct MethodConfig: Codable, Equatable, Sendable {
    public var name: String
    public var options: [String: Double] = [:]
    public var flags: [String: Bool] = [:]

    public init(name: String, options: [String: Double] = [:], flags: [String: Bool] = [:]) {
        self.name = name; self.options = options; self.flags = flags
    }
}
