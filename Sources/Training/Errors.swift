import Foundation

public enum ExperimentError: Error, CustomStringConvertible {
    case unknownScale(String)
    case paperScaleNeedsData
    case teacherMissing(String, String)
    case notATeacher(String)

    public var description: String {
        switch self {
        case .unknownScale(let s): return "unknown scale '\(s)' (use ci, small or paper)"
        case .paperScaleNeedsData:
            return "paper-scale training is not implemented yet (it needs ImageNet in the folder layout and paper-size teacher weights); `scalekd run tableN --scale paper --dry-run` prints a table's paper runs and their cost here, and `scalekd eval` / `scalekd export` work at paper scale (README, At paper scale)"
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
        }
    }
}
