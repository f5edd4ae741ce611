import Foundation
import Models
import NN
import Tensor

/// How the frozen teacher runs while the student trains.
public enum TeacherMode: String, Codable, Sendable {
    /// Eval mode: no drop path, the same targets every time (what the paper describes).
    case eval
    /// Train mode: the teacher's stochastic depth is active in its stage targets, its
    /// logits and the TPP pass through its last stage. The released code runs this way in
    /// effect: ClassificationDistiller puts the teacher in eval mode once
    /// (mmcls/models/classifiers/distiller.py:52, deep-optimization/ScaleKD) and does not
    /// override train(), and mmengine's EpochBasedTrainLoop.run_epoch calls
    /// runner.model.train() at the start of every epoch, which reaches the teacher too.
    /// The teacher's weights never change in either mode.
    case train
}

/// Every switch the paper's ablations turn (docs/method.md; Tables 1, 9 and Figure 4), with
/// per-stage settings as the released configs give them (one FreqMaskingDistillLossv2 per
/// distilled stage). Config lines cited below are in deep-optimization/ScaleKD,
/// configs/distillers/traditional_traning_strategy/.
public struct ScaleKDOptions: Equatable, Sendable {
    /// Which student stages are distilled (subset of [3, 4]).
    public var stages: [Int] = [3, 4]
    /// Cross Attention Projector; false = FD-style 1x1-conv alignment on the same grid.
    public var cap = true
    /// Dual-view Feature Mimicking: a second projector and the DC-removed frequency loss.
    public var dfm = true
    /// Teacher Parameter Perception: stage 3 through the frozen teacher's stage 4, and the
    /// stage-4 projector queried by that path's tokens.
    public var tpp = true
    /// Weight of the spatial view per stage, [stage 3, stage 4]: alpha[0] of each stage's
    /// loss (swin-l_distill_res50_img_s3_s4.py:27 and :44, 0.08 both).
    public var alphaSpatial: [Float] = [0.08, 0.08]
    /// Weight of the frequency view per stage, [stage 3, stage 4]: alpha[1] of each stage's
    /// loss (swin-l_distill_res50_img_s3_s4.py:27 and :44, 0.06 both; the Swin-S teacher's
    /// config turns stage 4's off: swin-s_distill_res50_img_s3_s4.py:44, [0.08, 0.00]).
    public var alphaFrequency: [Float] = [0.06, 0.06]
    /// Logit KD (weight a also scales CE by 1 - a; temperature T): KDLoss alpha 0.5, temp 1
    /// (swin-l_distill_res50_img_s3_s4.py:60-61); `kd = False` for the Swin-S teacher
    /// (swin-s_distill_res50_img_s3_s4.py:13).
    public var kd = true
    public var kdWeight: Float = 0.5
    public var kdTemperature: Float = 1
    public var softmaxScale: Float = 5
    /// CAP heads per stage, [stage 3, stage 4] (Swin-L 16 and 24:
    /// swin-l_distill_res50_img_s3_s4.py:36 and :52; Swin-B 8 and 16; Swin-S 3 and 6).
    /// The default suits the mini teachers' widths.
    public var heads: [Int] = [4, 4]
    /// Whether the teacher's drop path is active while it produces targets.
    public var teacherMode: TeacherMode = .eval

    public init() {}

    /// The paper's single beta (share of the spatial view) and overall weight lambda, on
    /// both stages: alphaSpatial = lambda * beta, alphaFrequency = lambda * (1 - beta).
    public mutating func setBeta(_ beta: Float, lambda: Float = 0.14) {
        alphaSpatial = [lambda * beta, lambda * beta]
        alphaFrequency = [lambda * (1 - beta), lambda * (1 - beta)]
    }

    /// Spatial-view weight of stage 3 or 4.
    public func alphaSpatial(stage: Int) -> Float { alphaSpatial[ScaleKDOptions.slot(stage)] }
    /// Frequency-view weight of stage 3 or 4.
    public func alphaFrequency(stage: Int) -> Float { alphaFrequency[ScaleKDOptions.slot(stage)] }
    /// CAP heads of stage 3 or 4 (each stage its own entry, whichever stages are distilled).
    public func heads(stage: Int) -> Int { heads[ScaleKDOptions.slot(stage)] }

    static func slot(_ stage: Int) -> Int {
        precondition(stage == 3 || stage == 4, "ScaleKD distils stages 3 and 4, not \(stage)")
        return stage - 3
    }
}

extension ScaleKDOptions: Codable {
    // Key names are the property names. Options written before the per-stage fields hold one
    // number for alphaSpatial/alphaFrequency (read as both stages) and no teacherMode (eval).
    enum CodingKeys: String, CodingKey {
        case stages, cap, dfm, tpp, alphaSpatial, alphaFrequency, kd, kdWeight, kdTemperature, softmaxScale, heads, teacherMode
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func perStage(_ key: CodingKeys) throws -> [Float]? {
            if let one = try? c.decodeIfPresent(Float.self, forKey: key) { return [one, one] }
            return try c.decodeIfPresent([Float].self, forKey: key)
        }
        stages = try c.decodeIfPresent([Int].self, forKey: .stages) ?? stages
        cap = try c.decodeIfPresent(Bool.self, forKey: .cap) ?? cap
        dfm = try c.decodeIfPresent(Bool.self, forKey: .dfm) ?? dfm
        tpp = try c.decodeIfPresent(Bool.self, forKey: .tpp) ?? tpp
        alphaSpatial = try perStage(.alphaSpatial) ?? alphaSpatial
        alphaFrequency = try perStage(.alphaFrequency) ?? alphaFrequency
        kd = try c.decodeIfPresent(Bool.self, forKey: .kd) ?? kd
        kdWeight = try c.decodeIfPresent(Float.self, forKey: .kdWeight) ?? kdWeight
        kdTemperature = try c.decodeIfPresent(Float.self, forKey: .kdTemperature) ?? kdTemperature
        softmaxScale = try c.decodeIfPresent(Float.self, forKey: .softmaxScale) ?? softmaxScale
        heads = try c.decodeIfPresent([Int].self, forKey: .heads) ?? heads
        teacherMode = try c.decodeIfPresent(TeacherMode.self, forKey: .teacherMode) ?? teacherMode
    }
}

/// Baseline methods the tables compare with.
public enum MethodKind: String, Codable, CaseIterable, Sendable {
    case baseline   // plain supervised training
    case kd, fd, dkd, dist, scalekd
}

/// Composes a frozen teacher, a student and a method into a training objective, for any
/// teacher/student pair of the zoo.
public final class Distiller: TrainingObjective {
    public let student: ImageClassifier
    public let teacher: TeacherModel
    public let kind: MethodKind
    public let options: ScaleKDOptions
    public let labelSmoothing: Float
    /// Projectors (CAPs or FD convs), trained with the student, discarded at inference.
    public let projectors: ModuleGroup
    public let trainable: Module
    let spatialCAP: [Int: CrossAttentionProjector]
    let frequencyCAP: [Int: CrossAttentionProjector]
    let fdConv: [Int: Conv2d]
    /// FD weight: the FD term is alpha_fd * sum((norm(S') - norm(T))^2) / N with alpha_fd =
    /// 0.08, the authors' FD config (lusilili/UFD-KD, the authors' development repository of
    /// this code: configs/distillers/swin/fd_swin-s_distill_res50_img_s3_s4.py:28,
    /// `alpha_fd=0.08`, for their FDLoss, mmcls/models/dis_losses/fd.py in ScaleKD).
    public var fdWeight: Float = 0.08
    /// DKD (Zhao et al., CVPR 2022) at its ImageNet setting: TCKD weight alpha 1.0 (mdistiller
    /// mdistiller/engine/cfg.py, CFG.DKD.ALPHA, which the ImageNet configs keep), NCKD weight
    /// beta 0.5 and T 1 (mdistiller configs/imagenet/r34_r18/dkd.yaml:28-29). CIFAR-100 uses
    /// beta 8, T 4 (LogitLoss.dkd's defaults); ResNet-50 -> MobileNet-V1 uses beta 2.0
    /// (configs/imagenet/r50_mv1/dkd.yaml:28). mdistiller's DKD warm-up ramp (1 epoch on
    /// ImageNet, reached at the first epoch) is not modelled.
    public var dkdAlpha: Float = 1, dkdBeta: Float = 0.5, dkdTemperature: Float = 1
    /// DIST (Huang et al., NeurIPS 2022) at its ImageNet setting: inter-class weight beta 1,
    /// intra-class weight gamma 1, tau 1 (paper Sec. 4 / appendix; the defaults of the
    /// official loss, hunto/image_classification_sota lib/models/losses/dist_kd.py
    /// `DIST(beta=1.0, gamma=1.0, tau=1.0)`). CIFAR-100 uses beta = gamma = 2, tau 4.
    public var distBeta: Float = 1, distGamma: Float = 1, distTemperature: Float = 1

    public init(teacher: TeacherModel, student: ImageClassifier, kind: MethodKind, options: ScaleKDOptions = .init(),
                labelSmoothing: Float = 0, rng: inout RandomGenerator) {
        teacher.freeze()
        // Between training steps the teacher is in eval mode; `losses` switches it to train
        // mode for the step when options.teacherMode == .train.
        teacher.setTraining(false)
        self.teacher = teacher
        self.student = student
        self.kind = kind
        self.options = options
        self.labelSmoothing = labelSmoothing
        var sp: [Int: CrossAttentionProjector] = [:], fr: [Int: CrossAttentionProjector] = [:], fd: [Int: Conv2d] = [:]
        var members: [(String, Module)] = []
        let tGrid = teacher.stageGrids, tWidth = teacher.stageChannels
        let sGrid = student.stageGrids, sWidth = student.stageChannels
        if kind == .scalekd {
            for stage in options.stages {
                let s = stage - 1
                // With TPP every projector aims at the teacher's stage-3 input (stage-3 path) or
                // stage-4 output; without it each stage aims at the teacher's same stage.
                let target = options.tpp && stage == 3 ? 2 : s
                let heads = options.heads(stage: stage)
                let selfQuery = !(options.tpp && stage == 4 && options.stages.contains(3))
                func make(_ rng: inout RandomGenerator) -> CrossAttentionProjector {
                    CrossAttentionProjector(studentChannels: sWidth[s], studentGrid: (sGrid[s], sGrid[s]),
                                            teacherWidth: tWidth[target], queryGrid: (tGrid[target], tGrid[target]),
                                            heads: heads, softmaxScale: options.softmaxScale, selfQuery: selfQuery, rng: &rng)
                }
                if options.cap {
                    sp[stage] = make(&rng)
                    members.append(("cap_s\(stage)_spatial", sp[stage]!))
                    if options.dfm {
                        fr[stage] = make(&rng)
                        members.append(("cap_s\(stage)_frequency", fr[stage]!))
                    }
                } else {
                    fd[stage] = Conv2d(sWidth[s], tWidth[s], kernel: 1, rng: &rng)
                    members.append(("align_s\(stage)", fd[stage]!))
                }
            }
        } else if kind == .fd && sWidth[3] != tWidth[3] {
            // FDLoss builds its 1x1 connector only when the widths differ
            // (deep-optimization/ScaleKD mmcls/models/dis_losses/fd.py:25-28).
            fd[4] = Conv2d(sWidth[3], tWidth[3], kernel: 1, rng: &rng)
            members.append(("align_s4", fd[4]!))
        }
        spatialCAP = sp
        frequencyCAP = fr
        fdConv = fd
        projectors = ModuleGroup(members)
        var trainableMembers: [(String, Module)] = [("student", student), ("projectors", projectors)]
        // A teacher with live drop path draws from its own stream, restarted with the
        // student's at every step (no tensors, so checkpoints are unchanged).
        if options.teacherMode == .train { trainableMembers.append(("teacher_stream", TeacherStreamRelay(teacher))) }
        trainable = ModuleGroup(trainableMembers)
    }

    public func losses(images: Tensor, labels: [Int], softLabels: Tensor?) -> [(name: String, value: Tensor)] {
        // The teacher's mode holds for the whole step: its targets, logits and the TPP pass.
        teacher.setTraining(options.teacherMode == .train)
        defer { teacher.setTraining(false) }
        let s = student.stageFeatures(images)
        let t = teacherOutputs(images)
        var terms = logitTerms(studentLogits: s.logits, teacherLogits: t.logits, labels: labels, softLabels: softLabels)
        switch kind {
        case .baseline, .kd, .dkd, .dist:
            break
        case .fd:
            terms.append(("fd", fdTerm(student: s.stages[3], teacher: t.stages[3], conv: fdConv[4]) * fdWeight))
        case .scalekd:
            terms += featureTerms(studentStages: s.stages, teacherStages: t.stages)
        }
        return terms
    }

    /// The teacher's stage maps and logits as constants, in whatever mode the teacher is in
    /// (`losses` sets it from options.teacherMode).
    public func teacherOutputs(_ images: Tensor) -> StageOutputs {
        withoutGrad { teacher.stageFeatures(images) }
    }

    /// The logit terms of the method: CE (scaled by 1 - a when logit KD is on), KD, DKD or
    /// DIST. Public for the golden-fixture test, which feeds stored logits.
    public func logitTerms(studentLogits: Tensor, teacherLogits: Tensor, labels: [Int],
                           softLabels: Tensor?) -> [(name: String, value: Tensor)] {
        let ce = crossEntropyTerm(studentLogits, labels: labels, softLabels: softLabels, smoothing: labelSmoothing)
        var terms: [(name: String, value: Tensor)] = []
        let useKD = kind == .kd || (kind == .scalekd && options.kd)
        if useKD {
            terms.append(("ce", ce * (1 - options.kdWeight)))
            terms.append(("kd", LogitLoss.kd(student: studentLogits, teacher: teacherLogits, temperature: options.kdTemperature)
                * options.kdWeight))
        } else {
            terms.append(("ce", ce))
        }
        if kind == .dkd {
            terms.append(("dkd", LogitLoss.dkd(student: studentLogits, teacher: teacherLogits, labels: labels, alpha: dkdAlpha,
                                               beta: dkdBeta, temperature: dkdTemperature)))
        } else if kind == .dist {
            terms.append(("dist", LogitLoss.dist(student: studentLogits, teacher: teacherLogits, beta: distBeta,
                                                 gamma: distGamma, temperature: distTemperature)))
        }
        return terms
    }

    /// FD: the student's map through the 1x1 connector when there is one (widths differ),
    /// average-pooled to the teacher's grid when the grids differ (the authors' FDLoss
    /// asserts equal grids; pooling lets a 14x14 ViT student meet a 7x7 teacher), then the
    /// normalised spatial loss.
    func fdTerm(student: Tensor, teacher: Tensor, conv: Conv2d?) -> Tensor {
        var aligned = conv.map { $0(student) } ?? student
        if aligned.shape[2] != teacher.shape[2] { aligned = aligned.adaptiveAvgPool2d(teacher.shape[2], teacher.shape[3]) }
        return FeatureLoss.spatial(tokens(of: aligned), tokens(of: teacher))
    }

    /// The ScaleKD feature terms for given student and teacher stage maps (public for the
    /// golden-fixture test, which feeds stored features).
    public func featureTerms(studentStages sStages: [Tensor], teacherStages tStages: [Tensor]) -> [(name: String, value: Tensor)] {
        guard options.cap else {
            return options.stages.sorted().map { stage in
                ("s\(stage)_fd", fdTerm(student: sStages[stage - 1], teacher: tStages[stage - 1], conv: fdConv[stage]!)
                    * options.alphaSpatial(stage: stage))
            }
        }
        var terms: [(name: String, value: Tensor)] = []
        for p in projectedStages(studentStages: sStages, teacherStages: tStages) {
            terms.append(("s\(p.stage)_spatial", FeatureLoss.spatial(p.spatial, p.target) * options.alphaSpatial(stage: p.stage)))
            if let y = p.frequency {
                // A zero weight (Swin-S's stage 4) keeps the term at 0, as the released loss
                // does by multiplying with alpha[1] = 0.
                terms.append(("s\(p.stage)_frequency",
                              FeatureLoss.frequency(y, p.target) * options.alphaFrequency(stage: p.stage)))
            }
        }
        return terms
    }

    /// One distilled stage as the feature loss sees it: the projectors' teacher-space tokens
    /// and the teacher tokens they aim at, all [N, L, Ct].
    public struct StageProjection {
        public let stage: Int
        /// Spatial-view projector output (after the teacher's last stage on the TPP stage-3 path).
        public let spatial: Tensor
        /// Frequency-view projector output; nil without DFM.
        public let frequency: Tensor?
        /// The teacher tokens both views are compared with.
        public let target: Tensor
        public let grid: (h: Int, w: Int)
    }

    /// The CAP projections of every distilled stage, in stage order (what `featureTerms`
    /// compares; also read by Figure 6, which measures the stage-4 distances of trained runs).
    public func projectedStages(studentStages sStages: [Tensor], teacherStages tStages: [Tensor]) -> [StageProjection] {
        precondition(options.cap, "projections exist only with CAP (FD aligns with 1x1 convs)")
        var out: [StageProjection] = []
        var stage3Output: (spatial: Tensor?, frequency: Tensor?) = (nil, nil)
        for stage in options.stages.sorted() {
            let f = sStages[stage - 1]
            let tpp = options.tpp
            // Target of this stage: with TPP always the teacher's stage 4.
            let targetIndex = tpp ? 3 : stage - 1
            let target = tokens(of: tStages[targetIndex]), grid = (tStages[targetIndex].shape[2], tStages[targetIndex].shape[3])
            func project(_ cap: CrossAttentionProjector, queries: Tensor?) -> Tensor {
                let out = cap(f, queries: queries)
                guard tpp && stage == 3 else { return out }
                // Stage-3 path: through the frozen teacher's own last stage.
                let g3 = tStages[2].shape[2]
                return tokens(of: teacher.forwardLastStage(map(of: out, grid: (g3, g3))))
            }
            let useQueries = tpp && stage == 4 && options.stages.contains(3)
            let ySpatial = project(spatialCAP[stage]!, queries: useQueries ? stage3Output.spatial : nil)
            var yFrequency: Tensor? = nil
            if options.dfm, let cap = frequencyCAP[stage] {
                yFrequency = project(cap, queries: useQueries ? stage3Output.frequency : nil)
            }
            if stage == 3 { stage3Output = (ySpatial, yFrequency ?? ySpatial) }
            out.append(StageProjection(stage: stage, spatial: ySpatial, frequency: yFrequency, target: target, grid: grid))
        }
        return out
    }
}

/// Restarts the frozen teacher's drop-path streams when the trainer restarts the student's
/// (teacherMode .train): same (seed, step), so a resumed run draws the same teacher masks.
/// It holds no tensors and reports no children, so the teacher stays out of the trainable
/// parameters and the checkpoint.
final class TeacherStreamRelay: Module, StochasticLayer {
    private let teacher: TeacherModel

    init(_ teacher: TeacherModel) { self.teacher = teacher }

    override func childModules() -> [(String, Module)] { [] }
    override func ownTensors() -> [(String, Tensor)] { [] }

    func restartStream(seed: UInt64, step: Int, rows: BatchRows?) { teacher.reseedStochasticLayers(seed: seed, step: step, rows: rows) }
}
