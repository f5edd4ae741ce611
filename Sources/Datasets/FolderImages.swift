import Foundation

/// An ImageNet-layout folder as a run's image source (paper scale): training batches go
/// through the train transform (RandomResizedCrop and flip, plus the strategy's RandAugment
/// and random erasing), evaluation batches through resize and center crop; both normalized
/// with ImageNet's mean and std. A file that does not decode is left out of its batch and
/// named in `Batch.skipped`: a few bad files among 1.28M must not stop a run.
public struct FolderImages: ImageSource {
    public let folder: FolderDataset
    public let name: String
    public let size: Int
    /// Shorter side before the evaluation center crop of `size`.
    public let evaluationResize: Int
    public let interpolation: ImageNetTransform.Interpolation

    public init(folder: FolderDataset, name: String, size: Int, evaluationResize: Int,
                interpolation: ImageNetTransform.Interpolation) {
        self.folder = folder
        self.name = name
        self.size = size
        self.evaluationResize = evaluationResize
        self.interpolation = interpolation
    }

    public var count: Int { folder.count }
    public var classCount: Int { folder.classes.count }
    public var channels: Int { 3 }
    public var evaluationBatchSize: Int { 32 }

    public func trainingSteps(batchSize: Int) -> Int { count / batchSize }

    public func trainingBatches(batchSize: Int, epoch: Int, seed: UInt64, augmentation: Augmentation,
                                startStep: Int, rows: Range<Int>?) -> BatchLoader {
        // Mixup/CutMix mix sample i with sample n-1-i of the whole batch, a pairing that skipped
        // files and a data-parallel share of rows would both shift; no strategy uses them.
        precondition(augmentation.mix == nil, "Mixup/CutMix on image folders is not implemented (no training strategy uses them)")
        let batches = ImageFolderBatches(folder: folder, transform: .train(size: size, augmentation: augmentation,
                                                                          interpolation: interpolation))
        let order = batches.order(epoch: epoch, seed: seed)
        return BatchLoader(stepCount: trainingSteps(batchSize: batchSize), startStep: startStep,
                           name: "\(name) epoch \(epoch)") { step in
            let whole = Array(order[(step * batchSize)..<((step + 1) * batchSize)])
            return Self.batch(of: batches, rows.map { Array(whole[$0]) } ?? whole, epoch: epoch, seed: seed, step: step)
        }
    }

    public func evaluationBatches(batchSize: Int) -> BatchLoader {
        let batches = ImageFolderBatches(folder: folder, transform: .eval(size: size, resize: evaluationResize,
                                                                         interpolation: interpolation))
        let count = self.count
        return BatchLoader(stepCount: (count + batchSize - 1) / batchSize, name: "\(name) evaluation") { step in
            Self.batch(of: batches, Array((step * batchSize)..<min((step + 1) * batchSize, count)), epoch: 0, seed: 0, step: step)
        }
    }

    static func batch(of batches: ImageFolderBatches, _ positions: [Int], epoch: Int, seed: UInt64, step: Int) -> Batch {
        // Under the skip policy (the default) a file that does not decode is reported in
        // `skipped`; only the fail policy throws.
        let decoded = try! batches.batch(positions, epoch: epoch, seed: seed)
        var out = Batch(images: decoded.images, labels: decoded.labels, softLabels: nil, indices: decoded.indices, step: step)
        out.skipped = decoded.skipped.map { "\($0.path): \($0.reason)" }
        return out
    }
}
