import Distill
import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

/// Per-stage options, the teacher's train mode, and the baselines' defaults.
final class OptionsTests: XCTestCase {
    private func cap(_ distiller: Distiller, _ name: String) -> CrossAttentionProjector? {
        distiller.projectors.childModules().first { $0.0 == name }?.1 as? CrossAttentionProjector
    }

    func testEachStageUsesItsOwnHeadsEvenWithStage3Off() {
        var rng = RandomGenerator(seed: 3)
        let teacher = StubTeacher(inChannels: 1, c3: 8, c4: 12, grid3: 8, rng: &rng)
        let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng)
        var options = ScaleKDOptions()
        options.heads = [2, 3]
        options.stages = [4]
        let only4 = Distiller(teacher: teacher, student: student, kind: .scalekd, options: options, rng: &rng)
        XCTAssertEqual(cap(only4, "cap_s4_spatial")?.attention.heads, 3)
        XCTAssertEqual(cap(only4, "cap_s4_frequency")?.attention.heads, 3)
        XCTAssertNil(cap(only4, "cap_s3_spatial"))
        options.stages = [3, 4]
        let both = Distiller(teacher: teacher, student: student, kind: .scalekd, options: options, rng: &rng)
        XCTAssertEqual(cap(both, "cap_s3_spatial")?.attention.heads, 2)
        XCTAssertEqual(cap(both, "cap_s4_spatial")?.attention.heads, 3)
    }

    func testBetaSetsBothStages() {
        var o = ScaleKDOptions()
        XCTAssertEqual(o.alphaSpatial, [0.08, 0.08])
        XCTAssertEqual(o.alphaFrequency, [0.06, 0.06])
        o.setBeta(0.5, lambda: 0.2)
        XCTAssertEqual(o.alphaSpatial, [0.1, 0.1])
        XCTAssertEqual(o.alphaFrequency, [0.1, 0.1])
        o.alphaFrequency[1] = 0
        XCTAssertEqual(o.alphaFrequency(stage: 3), 0.1)
        XCTAssertEqual(o.alphaFrequency(stage: 4), 0)
    }

    /// Stable keys; options stored before the per-stage fields (one weight, no teacher mode)
    /// still decode.
    func testCodableKeysAndOlderOptions() throws {
        var o = ScaleKDOptions()
        o.alphaFrequency = [0.06, 0]
        o.heads = [16, 24]
        o.teacherMode = .train
        let data = try JSONEncoder().encode(o)
        XCTAssertEqual(try JSONDecoder().decode(ScaleKDOptions.self, from: data), o)
        let keys = Set((try JSONSerialization.jsonObject(with: data) as! [String: Any]).keys)
        XCTAssertEqual(keys, ["stages", "cap", "dfm", "tpp", "alphaSpatial", "alphaFrequency", "kd", "kdWeight",
                              "kdTemperature", "softmaxScale", "heads", "teacherMode"])
        let old = #"{"stages":[3,4],"cap":true,"dfm":true,"tpp":true,"alphaSpatial":0.1,"alphaFrequency":0.04,"kd":false,"kdWeight":0.5,"kdTemperature":1,"softmaxScale":5,"heads":[4,4]}"#
        let decoded = try JSONDecoder().decode(ScaleKDOptions.self, from: Data(old.utf8))
        XCTAssertEqual(decoded.alphaSpatial, [0.1, 0.1])
        XCTAssertEqual(decoded.alphaFrequency, [0.04, 0.04])
        XCTAssertEqual(decoded.teacherMode, .eval)
        XCTAssertFalse(decoded.kd)
    }

    /// FD as the authors' FDLoss: weight 0.08, and a 1x1 connector only when widths differ.
    func testFDConnectorOnlyWhenWidthsDiffer() {
        var rng = RandomGenerator(seed: 8)
        let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng)
        let sameWidth = StubTeacher(inChannels: 1, c3: 8, c4: 8, grid3: 8, rng: &rng)
        let fd = Distiller(teacher: sameWidth, student: student, kind: .fd, rng: &rng)
        XCTAssertEqual(fd.fdWeight, 0.08)
        XCTAssertTrue(fd.projectors.namedParameters().isEmpty, "no connector for equal widths")
        let x = randomTensor([2, 1, 8, 8], seed: 9, requiresGrad: false)
        let term = fd.losses(images: x, labels: [0, 1], softLabels: nil).first { $0.name == "fd" }!.value
        let s4 = student.stageFeatures(x).stages[3], t4 = sameWidth.stageFeatures(x).stages[3]
        XCTAssertEqual(term.scalar, 0.08 * FeatureLoss.spatial(tokens(of: s4), tokens(of: t4)).scalar, accuracy: 1e-6)
        let wider = StubTeacher(inChannels: 1, c3: 8, c4: 12, grid3: 8, rng: &rng)
        let aligned = Distiller(teacher: wider, student: student, kind: .fd, rng: &rng)
        XCTAssertEqual(Set(aligned.projectors.namedParameters().map(\.0)), ["align_s4.weight", "align_s4.bias"])
    }

    func testBaselineDefaultsAreTheirImageNetSettings() {
        var rng = RandomGenerator(seed: 10)
        let d = Distiller(teacher: StubTeacher(inChannels: 1, c3: 8, c4: 12, grid3: 8, rng: &rng),
                          student: StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng), kind: .dkd, rng: &rng)
        XCTAssertEqual([d.dkdAlpha, d.dkdBeta, d.dkdTemperature], [1, 0.5, 1])
        XCTAssertEqual([d.distBeta, d.distGamma, d.distTemperature], [1, 1, 1])
    }

    // MARK: Teacher mode

    /// A small ViT teacher with heavy drop path, on 16x16 images (grid 8).
    private func pair(_ mode: TeacherMode, seed: UInt64 = 12) -> (Distiller, VisionTransformer, StubStudent) {
        var rng = RandomGenerator(seed: seed)
        let teacher = VisionTransformer(ViTConfig(imageSize: 16, inputChannels: 1, classes: 10, patchSize: 2, width: 16,
                                                  depth: 4, heads: 2, classToken: false, dropPathRate: 0.5), rng: &rng)
        let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 16, rng: &rng)
        var options = ScaleKDOptions()
        options.teacherMode = mode
        return (Distiller(teacher: teacher, student: student, kind: .scalekd, options: options, rng: &rng), teacher, student)
    }

    private func values(_ terms: [(name: String, value: Tensor)]) -> [String: Float] {
        Dictionary(uniqueKeysWithValues: terms.map { ($0.name, $0.value.scalar) })
    }

    func testTrainModeTeacherIsStochasticAndEvalModeIsNot() {
        let x = randomTensor([2, 1, 16, 16], seed: 13, requiresGrad: false)
        let labels = [1, 2]
        let (train, teacher, _) = pair(.train)
        let a = values(train.losses(images: x, labels: labels, softLabels: nil))
        let b = values(train.losses(images: x, labels: labels, softLabels: nil))
        XCTAssertFalse(teacher.isTraining, "the teacher is back in eval mode between steps")
        // Teacher logits (kd), targets and the TPP pass through its blocks (all feature terms) move.
        for name in ["kd", "s3_spatial", "s3_frequency", "s4_spatial", "s4_frequency"] {
            XCTAssertNotEqual(a[name], b[name], "\(name) did not change between two train-mode teacher passes")
        }
        // The same draws after restarting the streams at the same (seed, step): resumable.
        train.trainable.reseedStochasticLayers(seed: 3, step: 7)
        let c = values(train.losses(images: x, labels: labels, softLabels: nil))
        train.trainable.reseedStochasticLayers(seed: 3, step: 7)
        XCTAssertEqual(values(train.losses(images: x, labels: labels, softLabels: nil)), c)
        train.trainable.reseedStochasticLayers(seed: 3, step: 8)
        XCTAssertNotEqual(values(train.losses(images: x, labels: labels, softLabels: nil))["kd"], c["kd"])

        let (eval, _, _) = pair(.eval)
        let e1 = values(eval.losses(images: x, labels: labels, softLabels: nil))
        XCTAssertEqual(values(eval.losses(images: x, labels: labels, softLabels: nil)), e1)
        XCTAssertEqual(eval.teacherOutputs(x).logits.values, eval.teacherOutputs(x).logits.values)
    }

    /// In train mode the teacher still gets no gradient, no optimizer slot and no update, and
    /// adds nothing to the trainable (checkpointed) tensors.
    func testTrainModeTeacherIsNeverUpdated() {
        let (distiller, teacher, student) = pair(.train)
        let before = teacher.namedTensors().map { $0.1.values }
        let opt = AdamW(parameterSlots(distiller.trainable.namedParameters(), weightDecay: 0.05))
        let x = randomTensor([2, 1, 16, 16], seed: 14, requiresGrad: false)
        for _ in 0..<2 {
            opt.zeroGradients()
            distiller.losses(images: x, labels: [0, 1], softLabels: nil).map(\.value).reduce(Tensor(scalar: 0), +).backward()
            XCTAssertTrue(teacher.namedParameters().allSatisfy { $0.1.grad == nil }, "a teacher parameter got a gradient")
            opt.step(learningRate: 0.01)
        }
        XCTAssertEqual(teacher.namedTensors().map { $0.1.values }, before, "teacher weights changed")
        let expected = student.namedTensors().count + distiller.projectors.namedTensors().count
        XCTAssertEqual(distiller.trainable.namedTensors().count, expected)
        XCTAssertTrue(student.conv3.weight.grad.map { $0.values.contains { $0 != 0 } } ?? false)
    }
}
