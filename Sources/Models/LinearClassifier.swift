import NN
import Tensor

/// The sanity anchor of the small scale: one linear layer on the pixels (logistic
/// regression). No student baseline may end below it on the same 1k images
/// (docs/analog.md). It has no stages: `stageFeatures` reports the input image for each,
/// so it is a baseline only, never a distillation student or teacher.
public final class LinearClassifier: Module, ImageClassifier {
    public let fc: Linear
    let inputSize: Int

    public init(inputChannels: Int, inputSize: Int, classes: Int, rng: inout RandomGenerator) {
        fc = Linear(inputChannels * inputSize * inputSize, classes, rng: &rng)
        self.inputSize = inputSize
    }

    public var stageChannels: [Int] { [1, 1, 1, 1] }
    public var stageGrids: [Int] { Array(repeating: inputSize, count: 4) }

    public func stageFeatures(_ x: Tensor) -> StageOutputs {
        StageOutputs(stages: Array(repeating: x, count: 4), logits: self(x))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { fc(x.flattened(from: 1)) }
}

public enum LinearModels {
    public static let presets: [ModelPreset] = [
        ModelPreset(name: "linear-mini", family: "linear", scale: .mini, inputSize: 32, inputChannels: 1, classes: 10) { rng in
            LinearClassifier(inputChannels: 1, inputSize: 32, classes: 10, rng: &rng)
        },
    ]
}
