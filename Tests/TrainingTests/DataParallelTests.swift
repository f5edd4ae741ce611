import Models
import NN
import Tensor
import XCTest
@testable import Training

/// The data-parallel step without MPI: ranks simulated in one process, their gradients
/// combined as the world combines them (DataParallel.rankOrderedSum). tools/mpi_test.sh
/// runs the real thing under mpirun.
final class DataParallelTests: XCTestCase {
    func testRanksSplitEveryBatchIntoContiguousRows() {
        for ranks in 1...4 {
            for batch in [1, 7, 32] {
                let rows = (0..<ranks).map { DataParallel(rank: $0, worldSize: ranks).rows(ofBatch: batch) }
                XCTAssertEqual(rows.first?.lowerBound, 0)
                XCTAssertEqual(rows.last?.upperBound, batch)
                for (a, b) in zip(rows, rows.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            }
        }
        XCTAssertEqual(DataParallel.single.rows(ofBatch: 32), 0..<32)
    }

    func testSharesAreSummedInRankOrder() {
        XCTAssertEqual(DataParallel.shares(of: 7, ranks: 3), [0..<2, 2..<4, 4..<7])
        // In Float, (1e8 - 1e8) + 1 = 1 but 1e8 + (-1e8 + 1) = 0: only rank order gives 1.
        let ranks: [[Float]] = [[1e8, 2, 1e8], [-1e8, 3, -1e8], [1, 4, 1]]
        XCTAssertEqual(DataParallel.rankOrderedSum(ranks), [1, 9, 1])
    }

    func testOneProcessLeavesGradientsAsTheyAre() {
        let (model, slots) = swin()
        let x = images(4)
        model.reseedStochasticLayers(seed: 1, step: 0)
        model(x).crossEntropy(labels: [0, 1, 2, 3]).backward()
        let before = slots.map { Array(UnsafeBufferPointer(start: $0.tensor.grad!.pointer, count: $0.tensor.count)) }
        var means: [Float] = [2.5]
        DataParallel.single.sumGradients(of: slots, means: &means, rows: 2, batch: 4)
        XCTAssertEqual(means, [2.5])
        XCTAssertEqual(slots.map { Array(UnsafeBufferPointer(start: $0.tensor.grad!.pointer, count: $0.tensor.count)) }, before)
    }

    /// Each simulated rank trains its rows with the drop-path masks of the whole batch
    /// (StochasticStream's rows), scaled by rows / batch: the rank-ordered sum is the whole
    /// batch's gradient and mean loss, but for summation order inside the forward and
    /// backward passes. Masks drawn per rank instead would not be.
    func testSimulatedRanksGiveTheWholeBatchGradient() {
        let batch = 8
        let x = images(batch), labels = (0..<batch).map { $0 % 10 }
        let (model, slots) = swin()
        func flatGradient(rows: Range<Int>, masksOfWholeBatch: Bool = true) -> [Float] {
            for s in slots { s.tensor.grad = nil }
            model.reseedStochasticLayers(seed: 1, step: 5, rows: masksOfWholeBatch ? BatchRows(rows, of: batch) : nil)
            let pixels = x.count / batch
            let part = Tensor(shape: [rows.count] + Array(x.shape.dropFirst()),
                              values: Array(UnsafeBufferPointer(start: x.pointer + rows.lowerBound * pixels, count: rows.count * pixels)))
            let loss = model(part).crossEntropy(labels: Array(labels[rows]))
            loss.backward()
            return DataParallel.flatten(slots.map(\.tensor.grad), [loss.scalar], scale: Float(rows.count) / Float(batch))
        }
        let whole = flatGradient(rows: 0..<batch)
        func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
            zip(a, b).map { abs($0 - $1) }.max()! / a.map(abs).max()!
        }
        for ranks in [2, 3] {
            let world = (0..<ranks).map { DataParallel(rank: $0, worldSize: ranks).rows(ofBatch: batch) }
            let summed = DataParallel.rankOrderedSum(world.map { flatGradient(rows: $0) })
            XCTAssertLessThan(relativeDifference(whole, summed), 1e-5, "\(ranks) ranks")
            let ownMasks = DataParallel.rankOrderedSum(world.map { flatGradient(rows: $0, masksOfWholeBatch: false) })
            XCTAssertGreaterThan(relativeDifference(whole, ownMasks), 1e-3, "\(ranks) ranks drawing their own masks")
        }
    }

    func testOneProcessKeepsItsRunKey() {
        let c = RunConfig(model: "vit-mini-s", split: DataSplit(train: .student, perClass: 20), strategy: .advanced,
                          epochs: 2, batchSize: 32, seed: 0, scale: .ci)
        XCTAssertEqual(c.trained(by: .single).key, c.key)
        XCTAssertFalse(c.canonicalJSON.contains("worldSize"))
        let two = c.trained(by: DataParallel(rank: 1, worldSize: 2))
        XCTAssertEqual(two.worldSize, 2)
        XCTAssertNotEqual(two.key, c.key)
    }

    /// swin-mini-t: LayerNorm only (no batch statistics) and drop path 0.1 in every block.
    func swin() -> (ImageClassifier, [ParameterSlot]) {
        let model = try! buildModel("swin-mini-t", seed: 2)
        model.setTraining(true)
        return (model, parameterSlots(model.namedParameters(), weightDecay: 0))
    }

    func images(_ n: Int) -> Tensor {
        var rng = RandomGenerator(seed: 7)
        return Tensor(shape: [n, 1, 32, 32], values: (0..<(n * 1024)).map { _ in rng.nextFloat() - 0.5 })
    }
}
