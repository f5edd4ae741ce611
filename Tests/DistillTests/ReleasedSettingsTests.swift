import Distill
import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

/// The released configs' per-teacher settings against PyTorch (tools/make_distill_fixtures.py):
/// TPP through a real Swin last stage and through a BEiT-style ViT's last blocks, every loss
/// term (logit and feature) and the gradients of their sum, to 1e-4 relative as the stub
/// fixture (ScaleKDTests) does.
final class ReleasedSettingsTests: XCTestCase {
    /// Swin-S's released settings: KD off, stage-4 frequency weight 0, and the default heads;
    /// TPP through patch merging, a window block, a shifted-window block and the final norm.
    func testSwinLastStageFixture() throws {
        var rng = RandomGenerator(seed: 31)
        let teacher = SwinTransformer(SwinConfig(embedDim: 2, depths: [1, 1, 1, 2], heads: [1, 1, 2, 2], window: 2,
                                                 patchKernel: 3, patchStride: 1, patchPadding: 1, dropPathRate: 0,
                                                 inputSize: 32, inputChannels: 1, classes: 10), rng: &rng)
        XCTAssertEqual(teacher.layers[3].blocks[1].shift, 1, "the fixture must cover a shifted window block")
        var options = ScaleKDOptions()
        options.kd = false
        options.alphaFrequency = [0.06, 0]
        XCTAssertEqual(options.heads, [4, 4])
        try checkFixture("scalekd_swin.h5", teacher: teacher, options: options, logitTerms: ["ce"])
    }

    /// A BEiT-style teacher (relative position bias, layer scale, q/v biases) whose TPP runs its
    /// last two blocks and final norm while stage 3 is tapped before them, as the authors run
    /// BEiT-L; KD on, stage weights that differ per stage, heads [2, 4].
    func testViTLastBlocksFixture() throws {
        var rng = RandomGenerator(seed: 32)
        let config = ViTConfig(imageSize: 16, inputChannels: 1, classes: 10, patchSize: 2, width: 16, depth: 4, heads: 2,
                               classToken: false, pooling: .average, absolutePositionEmbedding: false,
                               relativePositionBias: true, layerScale: 0.1, qkvBias: .qv, tappedBlocks: [0, 1, 2, 3],
                               perceptionBlocks: 2)
        XCTAssertEqual(config.perceptionStart, 2)
        let teacher = VisionTransformer(config, rng: &rng)
        var options = ScaleKDOptions()
        options.heads = [2, 4]
        options.alphaSpatial = [0.08, 0.05]
        options.alphaFrequency = [0.06, 0.03]
        try checkFixture("scalekd_vit.h5", teacher: teacher, options: options, logitTerms: ["ce", "kd"])
    }

    private func checkFixture(_ file: String, teacher: TeacherModel, options: ScaleKDOptions, logitTerms names: [String],
                              testFile: String = #filePath, line: UInt = #line) throws {
        let root = try Fixture(file, group: "/", testFile: testFile)
        // The teacher's last stage from the fixture, by name; the rest of it is never run.
        let stored = try Fixture(file, group: "teacher", testFile: testFile)
        let own = Dictionary(uniqueKeysWithValues: teacher.namedTensors())
        for name in try stored.group.childNames() {
            guard let t = own[name] else { XCTFail("teacher has no tensor \(name)", line: line); continue }
            let value = try stored.tensor(name)
            XCTAssertEqual(t.shape, value.shape, name, line: line)
            t.assign(value)
        }
        var rng = RandomGenerator(seed: 1)
        let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng)
        let distiller = Distiller(teacher: teacher, student: student, kind: .scalekd, options: options, rng: &rng)
        let projectors = try Fixture(file, group: "projectors", testFile: testFile)
        let named = distiller.projectors.namedTensors()
        XCTAssertEqual(Set(named.map(\.0)), Set(try projectors.group.childNames()), "projector names differ from PyTorch's",
                       line: line)
        for (name, t) in named { t.assign(try projectors.tensor(name)) }

        let s3 = try root.tensor("s3", requiresGrad: true), s4 = try root.tensor("s4", requiresGrad: true)
        let t3 = try root.tensor("t3"), t4 = try root.tensor("t4")
        let logits = try root.tensor("student_logits", requiresGrad: true)
        let terms = distiller.logitTerms(studentLogits: logits, teacherLogits: try root.tensor("teacher_logits"),
                                         labels: try root.ints("labels"), softLabels: nil)
            + distiller.featureTerms(studentStages: [s3, s3, s3, s4], teacherStages: [t3, t3, t3, t4])
        XCTAssertEqual(terms.map(\.name), names + ["s3_spatial", "s3_frequency", "s4_spatial", "s4_frequency"], line: line)
        let expected = try Fixture(file, group: "terms", testFile: testFile)
        XCTAssertEqual(Set(terms.map(\.name)), Set(try expected.group.childNames()), line: line)
        for (name, value) in terms {
            XCTAssertEqual(value.scalar, try expected.tensor(name).scalar, accuracy: 1e-4 * max(1, abs(value.scalar)), name,
                           line: line)
        }
        terms.map(\.value).reduce(Tensor(scalar: 0), +).backward()
        assertRelativeError(s3.grad!.values, try root.tensor("grad_s3").values, below: 1e-4, "grad s3", line: line)
        assertRelativeError(s4.grad!.values, try root.tensor("grad_s4").values, below: 1e-4, "grad s4", line: line)
        assertRelativeError(logits.grad!.values, try root.tensor("grad_logits").values, below: 1e-4, "grad logits", line: line)
        let grads = try Fixture(file, group: "grads", testFile: testFile)
        for (name, t) in distiller.projectors.namedParameters() {
            guard let g = t.grad else { XCTFail("no gradient for \(name)", line: line); continue }
            assertRelativeError(g.values, try grads.tensor(name).values, below: 1e-4, "grad \(name)", line: line)
        }
        XCTAssertTrue(teacher.namedParameters().allSatisfy { $0.1.grad == nil }, "the frozen teacher got a gradient", line: line)
    }
}
