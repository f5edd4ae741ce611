import Datasets
import Distill
import Foundation
import NN

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
    /// Which weights of the teacher: the SHA-256 of its committed file (small scale) or its
    /// pre-training run's key (ci), so retrained teachers give new run keys.
    public var teacherWeights: String? = nil
    /// Checkpoint to start from (fine-tuning); a path or a run key.
    public var initFrom: String?
    public var scale: Scale
    /// The engine's results version (Engine.resultsVersion), so the key changes with it.
    public var engine: Int
    /// Processes of a data-parallel run (`mpirun -np N`; DataParallel); nil for one
    /// process, which the encoding then leaves out, so one-process keys are unchanged.
    public var worldSize: Int? = nil

    public init(model: String, split: DataSplit, strategy: TrainingStrategy, epochs: Int, batchSize: Int,
                seed: UInt64, method: MethodConfig? = nil, teacher: String? = nil, teacherWeights: String? = nil,
                initFrom: String? = nil, scale: Scale, engine: Int = Engine.resultsVersion) {
        self.model = model; self.split = split; self.strategy = strategy; self.epochs = epochs
        self.batchSize = batchSize; self.seed = seed; self.method = method; self.teacher = teacher
        self.teacherWeights = teacherWeights
        self.initFrom = initFrom; self.scale = scale; self.engine = engine
    }

    public var canonicalJSON: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    /// First 16 hex digits of the SHA-256 of the canonical JSON.
    public var key: String { String(SHA256.hexDigest(canonicalJSON).prefix(16)) }
}
