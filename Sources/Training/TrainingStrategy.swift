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
