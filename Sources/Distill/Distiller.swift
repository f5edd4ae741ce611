import Foundation
import Models
import NN
import Tensor

/// Every switch the paper's ablations turn (METHOD.md; Tables 1, 9 and Figure 4).
public struct ScaleKDOptions: Codable, Equatable, Sendable {
    /// Which student stages are distilled (subset of [3, 4]).
    public var stages: [Int] = [3, 4]
    /// Cross Attention Projector; false = FD-style 1x1-conv alignment on the same grid.
    public var cap = true
    /// Dual-view Feature Mimicking: a second projector and the DC-removed frequency loss.
    public var dfm = true
    /// Teacher Parameter Perception: stage 3 through the frozen teacher's stage 4, and the
    /// stage-4 projector queried by that path's tokens.
    public var tpp = true
    /// Weights of the spatial and frequency views (released configs: 0.08 and 0.06).
    public var alphaSpatial: Float = 0.08
    public var alphaFrequency: Float = 0.06
    /// Logit KD (weight a also scales CE by 1 - a; temperature T).
    public var kd = true
    public var kdWeight: Float = 0.5
    public var kdTemperature: Float = 1
    public var softmaxScale: Float = 5
    public var heads: [Int] = [4, 4]

    public init() {}

    /// The paper's single beta (share of the spatial view) and overall weight lambda:
    /// alphaSpatial = lambda * beta, alphaFrequency = lambda * (1 - beta).
    public mutating func setBeta(_ beta: Float, lambda: Float = 0.14) {
        alphaSpatial = lambda * beta
        alphaFrequency = lambda * (1 - beta)
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
    /// FD weight (the authors' FDLoss alpha is not published; 1 keeps it on the CE scale).
    public var fdWeight: Float = 1
    /// DKD / DIST hyper-parameters (their ImageNet settings: mdistiller's DKD alpha 0.5,
    /// beta 0.5, T 1; DIST beta 1, gamma 1, tau 1).
    public var dkdAlpha: Float = 0.5, dkdBeta: Float = 0.5, dkdTemperature: Float = 1
    public var distBeta: Float = 1, distGamma: Float = 1, distTemperature: Float = 1

    public init(teacher: TeacherModel, student: ImageClassifier, kind: MethodKind, options: ScaleKDOptions = .init(),
                labelSmoothing: Float = 0, rng: inout RandomGenerator) {
        teacher.freeze()
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
            for (i, stage) in options.stages.enumerated() {
                let s = stage - 1
                // With TPP every projector aims at the teacher's stage-3 input (stage-3 path) or
                // stage-4 output; without it each stage aims at the teacher's same stage.
                let target = options.tpp && stage == 3 ? 2 : s
                let heads = options.heads[min(i, options.heads.count - 1)]
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
        } else if kind == .fd {
            fd[4] = Conv2d(sWidth[3], tWidth[3], kernel: 1, rng: &rng)
            members.append(("align_s4", fd[4]!))
        }
        spatialCAP = sp
        frequencyCAP = fr
        fdConv = fd
        projectors = ModuleGroup(members)
        trainable = ModuleGroup([("student", student), ("projectors", projectors)])
    }

    public func losses(images: Tensor, labels: [Int], softLabels: Tensor?) -> [(name: String, value: Tensor)] {
        let s = student.stageFeatures(images)
        let t = withoutGrad { teacher.stageFeatures(images) }
        let ce = crossEntropyTerm(s.logits, labels: labels, softLabels: softLabels, smoothing: labelSmoothing)
        var terms: [(name: String, value: Tensor)] = []
        let useKD = kind == .kd || (kind == .scalekd && options.kd)
        if useKD {
            terms.append(("ce", ce * (1 - options.kdWeight)))
            terms.append(("kd", LogitLoss.kd(student: s.logits, teacher: t.logits, temperature: options.kdTemperature) * options.kdWeight))
        } else {
            terms.append(("ce", ce))
        }
        switch kind {
        case .baseline, .kd:
            break
        case .dkd:
            terms.append(("dkd", LogitLoss.dkd(student: s.logits, teacher: t.logits, labels: labels, alpha: dkdAlpha,
                                               beta: dkdBeta, temperature: dkdTemperature)))
        case .dist:
            terms.append(("dist", LogitLoss.dist(student: s.logits, teacher: t.logits, beta: distBeta, gamma: distGamma,
                                                 temperature: distTemperature)))
        case .fd:
            terms.append(("fd", fdTerm(student: s.stages[3], teacher: t.stages[3], conv: fdConv[4]!) * fdWeight))
        case .scalekd:
            terms += featureTerms(studentStages: s.stages, teacherStages: t.stages)
        }
        return terms
    }

    /// FD: 1x1-conv alignment, pooled to the teacher's grid when the grids differ, then the
    /// normalised spatial loss.
    func fdTerm(student: Tensor, teacher: Tensor, conv: Conv2d) -> Tensor {
        var aligned = conv(student)
        if aligned.shape[2] != teacher.shape[2] { aligned = aligned.adaptiveAvgPool2d(teacher.shape[2], teacher.shape[3]) }
        return FeatureLoss.spatial(tokens(of: aligned), tokens(of: teacher))
    }

    /// The ScaleKD feature terms for given student and teacher stage maps (public for the
    /// golden-fixture test, which feeds stored features).
    public func featureTerms(studentStages sStages: [Tensor], teacherStages tStages: [Tensor]) -> [(name: String, value: Tensor)] {
        guard options.cap else {
            return options.stages.sorted().map { stage in
                ("s\(stage)_fd", fdTerm(student: sStages[stage - 1], teacher: tStages[stage - 1], conv: fdConv[stage]!) * options.alphaSpatial)
            }
        }
        var terms: [(name: String, value: Tensor)] = []
        for p in projectedStages(studentStages: sStages, teacherStages: tStages) {
            terms.append(("s\(p.stage)_spatial", FeatureLoss.spatial(p.spatial, p.target) * options.alphaSpatial))
            if let y = p.frequency {
                terms.append(("s\(p.stage)_frequency", FeatureLoss.frequency(y, p.target, grid: p.grid) * options.alphaFrequency))
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
