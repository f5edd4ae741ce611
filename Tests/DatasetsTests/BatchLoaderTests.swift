import XCTest
@testable import Datasets

final class BatchLoaderTests: XCTestCase {
    var synthetic: SyntheticFashionMNIST!
    var train: ImageDataset!

    override func setUpWithError() throws {
        synthetic = try SyntheticFashionMNIST(trainPerClass: 5, testPerClass: 1)
        train = try FashionMNIST.load(manifest: synthetic.manifest, verifyHashes: false).train
    }

    override func tearDown() { synthetic.remove() }

    func loader(epoch: Int = 0, augmentation: Augmentation = .advanced, dropLast: Bool = false,
                startStep: Int = 0) -> BatchLoader {
        BatchLoader(dataset: train, batchSize: 8, epoch: epoch, seed: 123, augmentation: augmentation,
                    dropLast: dropLast, startStep: startStep)
    }

    func testBackgroundBatchesEqualThePlan() {
        let batches = Array(loader())
        XCTAssertEqual(batches.count, 7)  // 50 / 8, last batch of 2 kept
        XCTAssertEqual(batches.last?.count, 2)
        let plan = loader().plan!
        for (step, batch) in batches.enumerated() { XCTAssertEqual(batch, plan.batch(at: step)) }
        XCTAssertEqual(batches[0].images.count, 8 * 32 * 32)
        XCTAssertNil(batches[0].softLabels)
    }

    func testEpochCoversEverySampleOnce() {
        let indices = Array(loader()).flatMap(\.indices)
        XCTAssertEqual(indices.sorted(), Array(0..<50))
        XCTAssertNotEqual(indices, Array(0..<50))
        XCTAssertNotEqual(Array(loader(epoch: 1)).flatMap(\.indices), indices)
        for batch in loader() {
            for (k, index) in batch.indices.enumerated() { XCTAssertEqual(batch.labels[k], train.labels[index]) }
        }
    }

    func testDropLast() {
        let batches = Array(loader(dropLast: true))
        XCTAssertEqual(batches.count, 6)
        XCTAssertTrue(batches.allSatisfy { $0.count == 8 })
    }

    func testResumeFromStepSeesTheSameBatches() {
        let full = Array(loader(epoch: 3))
        let resumed = Array(loader(epoch: 3, startStep: 4))
        XCTAssertEqual(resumed.count, 3)
        XCTAssertEqual(resumed, Array(full[4...]))
        XCTAssertEqual(resumed.first?.step, 4)
    }

    func testSampleAugmentationDependsOnlyOnSeedEpochAndIndex() {
        // The same sample gets the same augmentation whatever batch it lands in.
        let a = EpochPlan(dataset: train, batchSize: 8, epoch: 2, seed: 5, augmentation: .advanced, dropLast: false)
        let b = EpochPlan(dataset: train, batchSize: 5, epoch: 2, seed: 5, augmentation: .advanced, dropLast: false)
        func image(of index: Int, in plan: EpochPlan) -> [Float] {
            for step in 0..<plan.stepCount {
                let batch = plan.batch(at: step)
                if let k = batch.indices.firstIndex(of: index) { return Array(batch.images[(k * 1024)..<((k + 1) * 1024)]) }
            }
            return []
        }
        XCTAssertEqual(image(of: 17, in: a), image(of: 17, in: b))
    }

    func testUnshuffledEvaluationBatches() {
        let eval = BatchLoader(dataset: train, batchSize: 16, epoch: 0, seed: 0, augmentation: .none,
                               shuffle: false, dropLast: false)
        let first = eval.next()!
        XCTAssertEqual(first.indices, Array(0..<16))
        XCTAssertEqual(Array(first.images[0..<1024]), train.normalizedImage(at: 0))
    }

    func testMixupBatchesCarrySoftLabels() {
        var augmentation = Augmentation.traditional
        augmentation.mix = MixConfig()
        let batches = Array(loader(augmentation: augmentation))
        XCTAssertEqual(batches[0].softLabels?.count, 8 * 10)
        XCTAssertEqual(Array(loader(augmentation: augmentation)), batches)
    }

    func testRowsOfABatchAreThoseOfTheWholeBatch() {
        // A data-parallel rank's share: built alone without Mixup/CutMix, cut from the
        // mixed whole batch with it, equal to the whole batch's rows either way.
        var mixed = Augmentation.advanced
        mixed.mix = MixConfig()
        for augmentation in [Augmentation.advanced, mixed] {
            let plan = EpochPlan(dataset: train, batchSize: 8, epoch: 1, seed: 9, augmentation: augmentation, dropLast: false)
            for step in [0, plan.stepCount - 1] {
                let whole = plan.batch(at: step), cut = whole.count / 2
                for rows in [0..<cut, cut..<whole.count, 0..<whole.count] {
                    let part = plan.batch(at: step, rows: rows)
                    XCTAssertEqual(part.images, Array(whole.images[(rows.lowerBound * 1024)..<(rows.upperBound * 1024)]))
                    XCTAssertEqual(part.labels, Array(whole.labels[rows]))
                    XCTAssertEqual(part.indices, Array(whole.indices[rows]))
                    XCTAssertEqual(part.softLabels, whole.softLabels.map { Array($0[(rows.lowerBound * 10)..<(rows.upperBound * 10)]) })
                }
            }
        }
        let shared = BatchLoader(dataset: train, batchSize: 8, epoch: 0, seed: 123, augmentation: .advanced,
                                 dropLast: true, rows: 4..<8)
        XCTAssertEqual(Array(shared).map(\.indices), Array(loader(dropLast: true)).map { Array($0.indices[4..<8]) })
    }

    func testPrefetchIsBounded() {
        let l = loader()
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertLessThanOrEqual(l.queueDepthForTesting, 2)
        _ = l.next()
    }

    func testDroppingALoaderMidEpochStopsItsThread() {
        for _ in 0..<20 {
            let l = loader()
            _ = l.next()
        }
    }
}
