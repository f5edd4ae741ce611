import Foundation

/// A bad value given to the suite (a CLI flag or a spec value), found before any work.
public struct InputError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum ExperimentError: Error, CustomStringConvertible {
    case unknownScale(String)
    case paperScaleNeedsData
    case teacherMissing(String, String)
    case notATeacher(String)

    public var description: String {
        switch self {
        case .unknownScale(let s): return "unknown scale '\(s)' (use ci, small or paper)"
        case .paperScaleNeedsData:
            return "no paper-scale plan here: paper-scale training runs a table's paper plan (its `plan: paper` and each row's `paperModels`, tables/README.md; every table that trains has one; `omitted` says what a plan leaves out) with `scalekd run tableN --scale paper --data <ImageNet root with train/ and val/> --teacher-weights <teacher>=<file.safetensors>` (`--dry-run` prints its runs and their cost); `scalekd train` and `distill` run at ci and small scale, and `scalekd eval` / `scalekd export` take any preset (README, At paper scale)"
        case let .teacherMissing(name, how): return "no pre-trained teacher '\(name)': \(how)"
        case .notATeacher(let n): return "'\(n)' cannot be a teacher (it has no forwardLastStage)"
        }
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(step: Int, term: String, value: Float, checkpoint: String)
    case unknownModel(String)
    case checkpointMismatch(path: String, detail: String)
    case noSteps(detail: String)
    case incomparableCheckpoints(detail: String)
    case emptyBatch(step: Int, skipped: [String])

    public var description: String {
        switch self {
        case let .nonFinite(step, term, value, checkpoint):
            return "training stopped at step \(step): loss term '\(term)' is \(value). The last good checkpoint is kept at \(checkpoint); lower the learning rate or check the inputs, then rerun."
        case let .unknownModel(name):
            return "unknown model preset '\(name)'; `scalekd models` lists them"
        case let .checkpointMismatch(path, detail):
            return "checkpoint \(path) does not fit this run (\(detail)); delete it to start over"
        case let .noSteps(detail):
            return "this run would take no training step (\(detail)); the last partial batch is dropped, so the batch must not exceed the training images"
        case let .incomparableCheckpoints(detail):
            return "the checkpoints are not of one model and step: \(detail)"
        case let .emptyBatch(step, skipped):
            return "training stopped at step \(step): no image of its batch decodes (\(skipped.prefix(3).joined(separator: "; "))\(skipped.count > 3 ? "; ..." : "")); check the copy of the dataset"
        }
    }
}
