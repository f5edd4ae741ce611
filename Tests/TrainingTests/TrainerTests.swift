import Datasets
import Distill
import Training
import Models
import NN
import Store
import Tensor
import XCTest

/// A small CNN with batch norm, so buffers and optimizer state both must resume exactly.
final class TinyNet: Module, ImageClassifier {
    let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, fc: Linear
    let stageChannels = [8, 8, 8, 16]
    let stageGrids = [32, 32, 32, 16]

    init(seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        conv1 = Conv2d(1, 8, kernel: 3, padding: 1, bias: false, rng: &rng)
        bn1 = BatchNorm2d(8)
        conv2 = Conv2d(8, 16, kernel: 3, stride: 2, padding: 1, rng: &rng)
        fc = Linear(16, 10, rng: &rng)
    }

    func stageFeatures(_ x: Tensor) -> StageOutputs {
        let s1 = bn1(conv1(x)).relu(), s4 = conv2(s1).relu()
        return StageOutputs(stages: [s1, s1, s1, s4], logits: fc(s4.mean(axes: [2, 3])))
    }

    func callAsFunction(_ x: Tensor) -> Tensor { stageFeatures(x).logits }
}

final class TrainerTests: XCTestCase {
    static let data: FashionMNIST? = try? FashionMNIST.load(manifest: try FashionMNISTManifest.locate())

    func config() -> RunConfig {
        var s = TrainingStrategy.advanced
        s.warmupEpochs = 0.5
        return RunConfig(model: "tiny", split: DataSplit(train: .student, perClass: 20, testPerClass: 20),
                         strategy: s, epochs: 2, batchSize: 32, seed: 3, scale: .ci)
    }

    func trainer(_ dir: String, objective: TrainingObjective? = nil) throws -> Trainer {
        guard let d = TrainerTests.data else { throw XCTSkip("Fashion-MNIST not installed (make setup)") }
        let t = Trainer(config: config(), runDirectory: dir,
                        objective: objective ?? SupervisedObjective(student: TinyNet(seed: 1), labelSmoothing: 0.1),
                        trainSet: d.ciTrainSet(perClass: 20), validationSet: d.ciValidationSet(perClass: 10),
                        testSet: d.ciTestSet(perClass: 20))
        t.log = { _ in }
        return t
    }

    func finalState(_ dir: String) throws -> [String: NamedArray] { try Checkpoint.load(from: dir + "/checkpoint.h5").parameters }

    /// Interrupt at several points (mid-epoch with and without a fresh checkpoint, at an
    /// epoch boundary), resume in a new trainer: the final weights and accuracy are
    /// bit-identical to an uninterrupted run.
    /// Teachers (55k images) are measured every epoch; a 1k-image student's long run is
    /// sampled (about 20 points) but always at four fifths of the run and at its end.
    func testEvaluatedEpochs() {
        XCTAssertEqual(Trainer.evaluatedEpochs(of: 30, trainImages: 55_000, validationImages: 5_000), Array(1...30))
        let student = Trainer.evaluatedEpochs(of: 200, trainImages: 1_000, validationImages: 5_000)
        XCTAssertEqual(student.count, 20)
        XCTAssertTrue(student.contains(160) && student.last == 200 && student.first == 10)
        XCTAssertEqual(Trainer.evaluatedEpochs(of: 101, trainImages: 1_000, validationImages: 5_000).filter { $0 == 80 || $0 == 101 }, [80, 101])
        XCTAssertEqual(Trainer.evaluatedEpochs(of: 3, trainImages: 300, validationImages: 200), [1, 2, 3])
    }

    func testResumeIsBitIdentical() throws {
        let tmp = NSTemporaryDirectory() + "scalekd-resume-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let straight = try trainer(tmp + "/straight").run()!
        for (name, stop, every) in [("mid-epoch-stale", 4, 1e9), ("mid-epoch-fresh", 4, 0.0), ("boundary", 6, 1e9)] {
            let dir = tmp + "/" + name
            let first = try trainer(dir)
            first.checkpointSeconds = every
            first.stopAfterSteps = stop
            XCTAssertNil(try first.run(), "\(name): should have stopped early")
            let resumed = try trainer(dir).run()!
            XCTAssertEqual(resumed.top1, straight.top1, "\(name): accuracy differs after resume")
            XCTAssertEqual(try finalState(dir), try finalState(tmp + "/straight"), "\(name): weights differ after resume")
        }
    }

    func testNonFiniteLossStopsAndKeepsCheckpoint() throws {
        let tmp = NSTemporaryDirectory() + "scalekd-nan-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let t = try trainer(tmp)
        t.stopAfterSteps = 6
        _ = try t.run()  // one epoch, checkpointed
        let before = try finalState(tmp)
        let bad = try trainer(tmp, objective: PoisonedObjective(after: 2))
        XCTAssertThrowsError(try bad.run()) { error in
            XCTAssertTrue("\(error)".contains("loss term 'ce'"), "\(error)")
            XCTAssertTrue("\(error)".contains("step 8"), "\(error)")
        }
        XCTAssertEqual(try finalState(tmp), before, "the last good checkpoint was overwritten")
    }
}

/// Supervised training whose loss turns NaN after `after` batches.
final class PoisonedObjective: TrainingObjective {
    let inner = SupervisedObjective(student: TinyNet(seed: 1), labelSmoothing: 0.1)
    var calls = 0
    let after: Int
    init(after: Int) { self.after = after }
    var trainable: Module { inner.trainable }
    var student: ImageClassifier { inner.student }
    func losses(images: Tensor, labels: [Int], softLabels: Tensor?) -> [(name: String, value: Tensor)] {
        calls += 1
        let terms = inner.losses(images: images, labels: labels, softLabels: softLabels)
        return calls > after ? terms.map { ($0.name, $0.value * Float.nan) } : terms
    }
}
