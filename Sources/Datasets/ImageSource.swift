import Foundation

/// A labelled image set as the trainer reads it: Fashion-MNIST held in memory
/// (`ImageDataset`, the ci and small scales) or an ImageNet-layout folder decoded as it is
/// read (`FolderImages`, paper scale). Either way a batch is a pure function of (seed,
/// epoch, step), so a resumed run sees the same images as an uninterrupted one.
public protocol ImageSource {
    /// What the set is, for progress lines.
    var name: String { get }
    var count: Int { get }
    var classCount: Int { get }
    /// Channels and side of the served (square, normalized) images.
    var channels: Int { get }
    var size: Int { get }
    /// Images per evaluation pass (large for 32x32 grey images, small at 224 px).
    var evaluationBatchSize: Int { get }
    /// Optimizer steps of one epoch: the last partial batch is dropped.
    func trainingSteps(batchSize: Int) -> Int
    /// One epoch's training batches from `startStep` on: shuffled and augmented, prepared
    /// ahead on a thread; `rows`: only these rows of each batch (a data-parallel process's).
    func trainingBatches(batchSize: Int, epoch: Int, seed: UInt64, augmentation: Augmentation,
                         startStep: Int, rows: Range<Int>?) -> BatchLoader
    /// Every image once, in order and unaugmented (the last batch may be short).
    func evaluationBatches(batchSize: Int) -> BatchLoader
}

extension ImageDataset: ImageSource {
    public var channels: Int { 1 }
    public var evaluationBatchSize: Int { 500 }

    public func trainingSteps(batchSize: Int) -> Int { count / batchSize }

    public func trainingBatches(batchSize: Int, epoch: Int, seed: UInt64, augmentation: Augmentation,
                                startStep: Int, rows: Range<Int>?) -> BatchLoader {
        BatchLoader(dataset: self, batchSize: batchSize, epoch: epoch, seed: seed, augmentation: augmentation,
                    dropLast: true, startStep: startStep, rows: rows)
    }

    public func evaluationBatches(batchSize: Int) -> BatchLoader {
        BatchLoader(dataset: self, batchSize: batchSize, epoch: 0, seed: 0, augmentation: .none, shuffle: false, dropLast: false)
    }
}
