import NN
import Tensor

/// The four stage outputs a distiller needs, as maps [N, C, H, W], plus logits [N, classes].
///
/// CNNs: after each stage. Swin: after each stage's blocks, before the next patch
/// merging; stage 4 after the final norm. ViT/Mixer: after blocks depth/4, depth/2,
/// 3*depth/4 and depth (the last one after the final norm), tokens reshaped to the
/// patch grid; a ViT config may tap other blocks (the paper's BEiT-L teacher).
public struct StageOutputs {
    public let stages: [Tensor]
    public let logits: Tensor

    public init(stages: [Tensor], logits: Tensor) {
        self.stages = stages
        self.logits = logits
    }
}

/// Every model of the zoo.
public protocol ImageClassifier: Module {
    /// Channels of the four stage outputs.
    var stageChannels: [Int] { get }
    /// Spatial sizes (H = W) of the four stage outputs for the preset's input size.
    var stageGrids: [Int] { get }
    func stageFeatures(_ x: Tensor) -> StageOutputs
    /// Logits only.
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A model that can serve as a ScaleKD teacher: Teacher Parameter Perception runs the
/// teacher's own last stage on tokens that come from the student's projector.
public protocol TeacherModel: ImageClassifier {
    /// Runs stage 4 (Swin: patch merging of the stage-3 grid, stage-4 blocks, final
    /// norm; plain ViT: its last depth/4 blocks, or the config's `perceptionBlocks`, and
    /// final norm) on a stage-3-shaped map
    /// [N, C3, H3, W3]; returns the stage-4 map exactly as `stageFeatures` gives it.
    /// Differentiable with respect to its input; frozen weights stay untouched.
    func forwardLastStage(_ stage3: Tensor) -> Tensor
}

/// paper: the paper's models at 224 px; mini: the small scale's Fashion-MNIST analogs;
/// smoke: paper architectures a few channels wide at 64 px (SmokePresets), which run a
/// paper-scale plan end to end in seconds.
public enum ModelScale: String, Codable, Sendable {
    case paper, mini, smoke

    /// Whether a paper-scale plan may name the preset (tables/README.md, `paperModels`).
    public var runsAtPaperScale: Bool { self != .mini }
}

/// A named configuration of a family, with the published size for paper presets.
public struct ModelPreset {
    public let name: String
    public let family: String
    public let scale: ModelScale
    public let inputSize: Int
    public let inputChannels: Int
    public let classes: Int
    /// Published parameter count (millions) and GFLOPs (multiply-accumulates) at inputSize, if known.
    public let paperParamsM: Double?
    public let paperGFLOPs: Double?
    public let isTeacher: Bool
    public let build: (inout RandomGenerator) -> ImageClassifier

    public init(name: String, family: String, scale: ModelScale, inputSize: Int, inputChannels: Int = 3,
                classes: Int = 1000, paperParamsM: Double? = nil, paperGFLOPs: Double? = nil,
                isTeacher: Bool = false, build: @escaping (inout RandomGenerator) -> ImageClassifier) {
        self.name = name; self.family = family; self.scale = scale; self.inputSize = inputSize
        self.inputChannels = inputChannels; self.classes = classes; self.paperParamsM = paperParamsM
        self.paperGFLOPs = paperGFLOPs; self.isTeacher = isTeacher; self.build = build
    }

    /// Parameter count and multiply-accumulates for one image, from a shape-only pass.
    public func cost() -> (params: Int, macs: Int) {
        let ((params, _), macs) = MetaMode.count { () -> (Int, Tensor) in
            var rng = RandomGenerator(seed: 0)
            let model = build(&rng)
            return (model.parameterCount, model(Tensor.meta([1, inputChannels, inputSize, inputSize])))
        }
        return (params, macs)
    }
}
