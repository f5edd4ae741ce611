import Models
import NN
import Tensor

/// What a training run optimises: the modules it updates (the student, plus any
/// projectors a distiller adds) and the named loss terms of one batch.
public protocol TrainingObjective: AnyObject {
    /// Everything trainable or stateful of the run (checkpointed under these names).
    var trainable: Module { get }
    /// The network evaluated at the end (projectors exist only in training).
    var student: ImageClassifier { get }
    /// Loss terms of one batch; the run minimises their sum and logs each.
    /// `softLabels` [N, classes] replace hard labels in the CE term when Mixup/CutMix is on.
    func losses(images: Tensor, labels: [Int], softLabels: Tensor?) -> [(name: String, value: Tensor)]
}

/// Groups modules under fixed names so one parameter tree covers student and projectors.
public final class ModuleGroup: Module {
    let members: [(String, Module)]

    public init(_ members: [(String, Module)]) { self.members = members }

    override public func childModules() -> [(String, Module)] { members }
    override public func ownTensors() -> [(String, Tensor)] { [] }
}

/// Plain supervised training: cross-entropy (with label smoothing) on the student.
public final class SupervisedObjective: TrainingObjective {
    public let student: ImageClassifier
    public let labelSmoothing: Float
    public var trainable: Module { student }

    public init(student: ImageClassifier, labelSmoothing: Float = 0) {
        self.student = student
        self.labelSmoothing = labelSmoothing
    }

    public func losses(images: Tensor, labels: [Int], softLabels: Tensor?) -> [(name: String, value: Tensor)] {
        let logits = student(images)
        return [("ce", crossEntropyTerm(logits, labels: labels, softLabels: softLabels, smoothing: labelSmoothing))]
    }
}

/// Cross-entropy against hard labels (label smoothing) or Mixup/CutMix soft labels.
public func crossEntropyTerm(_ logits: Tensor, labels: [Int], softLabels: Tensor?, smoothing: Float) -> Tensor {
    if let softLabels {
        // Smoothing applied on top of the mixed targets, as timm's SoftTargetCrossEntropy after mixup.
        let c = Float(logits.shape[1])
        return logits.crossEntropy(softTargets: softLabels * (1 - smoothing) + smoothing / c)
    }
    return logits.crossEntropy(labels: labels, labelSmoothing: smoothing)
}
