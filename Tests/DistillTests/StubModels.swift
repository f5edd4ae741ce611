import Distill
import Models
import NN
import Tensor

/// A small teacher whose last stage is avg-pool 2x2 -> 1x1 conv -> channel LayerNorm, the
/// same stand-in as tools/make_distill_fixtures.py. Stage 3 is a 3x3 conv of the input.
final class StubTeacher: Module, TeacherModel {
    let stem: Conv2d
    let lastConv: Conv2d
    let lastNorm: LayerNorm
    let head: Linear
    let stageChannels: [Int]
    let stageGrids: [Int]

    init(inChannels: Int, c3: Int, c4: Int, grid3: Int, rng: inout RandomGenerator) {
        stem = Conv2d(inChannels, c3, kernel: 3, padding: 1, rng: &rng)
        lastConv = Conv2d(c3, c4, kernel: 1, rng: &rng)
        lastNorm = LayerNorm(c4, channelsFirst: true)
        head = Linear(c4, 10, rng: &rng)
        stageChannels = [c3, c3, c3, c4]
        stageGrids = [grid3, grid3, grid3, grid3 / 2]
    }

    func forwardLastStage(_ stage3: Tensor) -> Tensor { lastNorm(lastConv(stage3.avgPool2d(kernel: 2))) }

    func stageFeatures(_ x: Tensor) -> StageOutputs {
        let s3 = stem(x).relu(), s4 = forwardLastStage(s3)
        return StageOutputs(stages: [s3, s3, s3, s4], logits: head(s4.mean(axes: [2, 3])))
    }

    func callAsFunction(_ x: Tensor) -> Tensor { stageFeatures(x).logits }
}

/// A small student: conv (stage 3 at the input grid) -> strided conv (stage 4) -> head.
final class StubStudent: Module, ImageClassifier {
    let conv3: Conv2d
    let conv4: Conv2d
    let fc: Linear
    let stageChannels: [Int]
    let stageGrids: [Int]

    init(inChannels: Int, c3: Int, c4: Int, grid3: Int, rng: inout RandomGenerator) {
        conv3 = Conv2d(inChannels, c3, kernel: 3, padding: 1, rng: &rng)
        conv4 = Conv2d(c3, c4, kernel: 3, stride: 2, padding: 1, rng: &rng)
        fc = Linear(c4, 10, rng: &rng)
        stageChannels = [c3, c3, c3, c4]
        stageGrids = [grid3, grid3, grid3, grid3 / 2]
    }

    func stageFeatures(_ x: Tensor) -> StageOutputs {
        let s3 = conv3(x).relu(), s4 = conv4(s3).relu()
        return StageOutputs(stages: [s3, s3, s3, s4], logits: fc(s4.mean(axes: [2, 3])))
    }

    func callAsFunction(_ x: Tensor) -> Tensor { stageFeatures(x).logits }
}
