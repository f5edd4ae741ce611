import Foundation

/// The three scales of the suite, and every default that differs between them.
/// ci: tiny subsets for CI regression; small: the Fashion-MNIST analog of the paper's
/// setting (the default); paper: ImageNet and paper-size models (the user's data).
public enum Scale: String, Codable, CaseIterable, Sendable, CustomStringConvertible {
    case ci, small, paper

    public var description: String { rawValue }

    /// Parses a scale name, with an error that lists the scales.
    public init(named name: String) throws {
        guard let s = Scale(rawValue: name) else { throw ExperimentError.unknownScale(name) }
        self = s
    }

    /// Where a student trains and is measured.
    public var studentSplit: DataSplit {
        get throws {
            switch self {
            case .ci: return DataSplit(train: .student, perClass: 20, testPerClass: 50, validationPerClass: 20)
            case .small: return DataSplit(train: .student, perClass: 100)
            case .paper: throw ExperimentError.paperScaleNeedsData
            }
        }
    }

    /// Where a teacher is pre-trained (at ci a 1k subset stands in for the 55k set).
    public var pretrainSplit: DataSplit {
        get throws {
            switch self {
            case .ci: return DataSplit(train: .student, perClass: 100, testPerClass: 50, validationPerClass: 20)
            case .small: return DataSplit(train: .pretrain)
            case .paper: throw ExperimentError.paperScaleNeedsData
            }
        }
    }

    /// Validation images per class measured each evaluated epoch (nil: the whole 5k split).
    public var validationPerClass: Int? { self == .ci ? 20 : nil }

    /// Epochs of a `scalekd train/distill` run when none are given.
    public var studentEpochs: Int { self == .ci ? 2 : 60 }

    /// Batch size of a student run when none is given.
    public var studentBatchSize: Int { self == .ci ? 32 : 64 }

    /// Batch size of teacher pre-training (the anchor recipe's 256; 64 on ci's 1k images).
    public var teacherBatchSize: Int { self == .ci ? 64 : 256 }

    /// Teachers of this scale with their pre-training epochs. The Swin ladder shares one
    /// recipe and one schedule, so only size differs. The BEiT/EVA analog trains twice as
    /// long: in the paper that teacher carries more pre-training than Swin-L (MIM on
    /// IN-22K, then fine-tuning); the analog has no other data to give it, so it gets more
    /// passes over the same 55k images. At ci, 2 epochs on 1k images, trained in seconds.
    public var teachers: [(name: String, epochs: Int)] {
        let names = ["swin-mini-s", "swin-mini-b", "swin-mini-l", "vit-mini-l"]
        switch self {
        case .ci: return names.map { ($0, 2) }
        case .small: return [("swin-mini-s", 30), ("swin-mini-b", 30), ("swin-mini-l", 30), ("vit-mini-l", 60)]
        case .paper: return []
        }
    }

    /// A ci run of a table's "pretrain" run: a 5x larger student subset stands in for the 55k set.
    public var pretrainStandsInForSubset: Bool { self == .ci }

    /// Where a table's outputs go by default: ci outputs never overwrite the committed
    /// small-scale ones in tables/out.
    public var defaultOutputDirectory: String { self == .small ? "tables/out" : "tables/\(rawValue)-out" }
}
