import Distill
import Models
import NN
import Tensor
import TestSupport
import XCTest

final class ScaleKDTests: XCTestCase {
    /// CAP, both DFM views and the two-stage TPP path against PyTorch
    /// (tools/make_distill_fixtures.py): every loss term, and the gradients of their sum
    /// with respect to the student features and every projector parameter, to 1e-4
    /// relative (norm-wise per tensor: the frequency path runs through CAP, the teacher's
    /// stage, the DCT and a normalisation, and float32 rounding of single small elements
    /// exceeds 1e-4 of their own size there, while the tensor as a whole agrees).
    func testMatchesPyTorchGoldenFixture() throws {
        let root = try Fixture("scalekd.h5", group: "/")
        var rng = RandomGenerator(seed: 1)
        let teacher = StubTeacher(inChannels: 1, c3: 8, c4: 12, grid3: 8, rng: &rng)
        teacher.lastConv.weight.assign(try root.tensor("teacher_conv_weight"))
        teacher.lastConv.bias!.assign(try root.tensor("teacher_conv_bias"))
        teacher.lastNorm.weight.assign(try root.tensor("teacher_norm_weight"))
        teacher.lastNorm.bias.assign(try root.tensor("teacher_norm_bias"))
        let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng)
        var options = ScaleKDOptions()
        options.heads = [2, 3]
        options.kd = false
        let distiller = Distiller(teacher: teacher, student: student, kind: .scalekd, options: options, rng: &rng)
        let projectors = try Fixture("scalekd.h5", group: "projectors")
        let named = distiller.projectors.namedTensors()
        XCTAssertEqual(Set(named.map(\.0)), Set(try projectors.group.childNames()), "projector parameter names differ from PyTorch's")
        for (name, t) in named { t.assign(try projectors.tensor(name)) }

        let s3 = try root.tensor("s3", requiresGrad: true), s4 = try root.tensor("s4", requiresGrad: true)
        let t3 = try root.tensor("t3"), t4 = try root.tensor("t4")
        let terms = distiller.featureTerms(studentStages: [s3, s3, s3, s4], teacherStages: [t3, t3, t3, t4])
        let expected = try Fixture("scalekd.h5", group: "terms")
        XCTAssertEqual(terms.map(\.name), ["s3_spatial", "s3_frequency", "s4_spatial", "s4_frequency"])
        for (name, value) in terms {
            XCTAssertEqual(value.scalar, try expected.tensor(name).scalar, accuracy: 1e-4 * max(1, abs(value.scalar)), name)
        }
        terms.map(\.value).reduce(Tensor(scalar: 0), +).backward()
        // s3 is given three times (stages 1-3); only stage 3 is distilled, so its gradient is that one's.
        assertRelativeError(s3.grad!.values, try root.tensor("grad_s3").values, below: 1e-4, "grad s3")
        assertRelativeError(s4.grad!.values, try root.tensor("grad_s4").values, below: 1e-4, "grad s4")
        let grads = try Fixture("scalekd.h5", group: "grads")
        for (name, t) in distiller.projectors.namedParameters() {
            guard let g = t.grad else { XCTFail("no gradient for \(name)"); continue }
            assertRelativeError(g.values, try grads.tensor(name).values, below: 1e-4, "grad \(name)")
        }
        XCTAssertNil(teacher.lastConv.weight.grad, "the frozen teacher got a gradient")
    }

    func testDCTRouteEqualsMeanSubtraction() {
        let x = randomTensor([2, 16, 5], seed: 3, requiresGrad: false)
        let viaDCT = FeatureLoss.removeDirectComponent(x, grid: (4, 4))
        assertClose(viaDCT.values, FeatureLoss.subtractSpatialMean(x).values, atol: 1e-5, rtol: 1e-4, "DC removal")
        let viaFFTW = FeatureLoss.removeDirectComponent(x, grid: (4, 4), method: .fftw)
        assertClose(viaFFTW.values, viaDCT.values, atol: 1e-5, rtol: 1e-4, "FFTW route")
    }

    func testBetaMapsToBothWeights() {
        var o = ScaleKDOptions()
        o.setBeta(0.08 / 0.14)
        for stage in [3, 4] {
            XCTAssertEqual(o.alphaSpatial(stage: stage), 0.08, accuracy: 1e-6)
            XCTAssertEqual(o.alphaFrequency(stage: stage), 0.06, accuracy: 1e-6)
        }
    }

    /// After an optimisation step the teacher is bit-identical, and the student's stage-3
    /// parameters got a non-zero gradient from the TPP stage-3 loss alone.
    func testTeacherFrozenAndTPPReachesStudentStage3() {
        var rng = RandomGenerator(seed: 4)
        let teacher = StubTeacher(inChannels: 1, c3: 8, c4: 12, grid3: 8, rng: &rng)
        let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng)
        var options = ScaleKDOptions()
        options.stages = [3]
        options.dfm = false
        options.kd = false
        let distiller = Distiller(teacher: teacher, student: student, kind: .scalekd, options: options, rng: &rng)
        let before = teacher.namedTensors().map { $0.1.values }
        let x = randomTensor([4, 1, 8, 8], seed: 5, requiresGrad: false)
        let terms = distiller.losses(images: x, labels: [0, 1, 2, 3], softLabels: nil)
        let tpp = terms.first { $0.name == "s3_spatial" }!.value
        tpp.backward()
        let g = student.conv3.weight.grad
        XCTAssertNotNil(g)
        XCTAssertTrue(g!.values.contains { $0 != 0 }, "stage-3 weights got no gradient through the teacher's last stage")
        let opt = AdamW(parameterSlots(distiller.trainable.namedParameters(), weightDecay: 0.05))
        opt.step(learningRate: 0.01)
        XCTAssertEqual(teacher.namedTensors().map { $0.1.values }, before, "teacher weights changed")
        // No teacher parameter is among the trainable ones (by identity, not by name).
        let teacherParameters = Set(teacher.parameters().map(ObjectIdentifier.init))
        XCTAssertTrue(distiller.trainable.parameters().allSatisfy { !teacherParameters.contains(ObjectIdentifier($0)) })
    }

    /// Every method on the stub pair: finite losses that fall over a few steps.
    func testEveryMethodTrainsOnStubPair() {
        for kind in [MethodKind.baseline, .kd, .fd, .dkd, .dist, .scalekd] {
            var rng = RandomGenerator(seed: 6)
            let teacher = StubTeacher(inChannels: 1, c3: 8, c4: 12, grid3: 8, rng: &rng)
            let student = StubStudent(inChannels: 1, c3: 6, c4: 8, grid3: 8, rng: &rng)
            let distiller = Distiller(teacher: teacher, student: student, kind: kind, rng: &rng)
            let opt = AdamW(parameterSlots(distiller.trainable.namedParameters(), weightDecay: 0))
            let x = randomTensor([8, 1, 8, 8], seed: 7, requiresGrad: false)
            let labels = [0, 1, 2, 3, 4, 5, 6, 7]
            var first: Float = 0, last: Float = 0
            for step in 0..<15 {
                opt.zeroGradients()
                let total = distiller.losses(images: x, labels: labels, softLabels: nil).map(\.value).reduce(Tensor(scalar: 0), +)
                XCTAssertTrue(total.scalar.isFinite, "\(kind) loss not finite")
                if step == 0 { first = total.scalar }
                last = total.scalar
                total.backward()
                opt.step(learningRate: 0.01)
            }
            XCTAssertLessThan(last, first, "\(kind): loss did not fall (\(first) -> \(last))")
        }
    }
}
