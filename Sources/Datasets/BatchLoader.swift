import Foundation
import Tensor

/// One training or evaluation batch.
public struct Batch: Equatable, Sendable {
    /// n x 1 x size x size, NCHW, normalized (and augmented).
    public var images: [Float]
    public var labels: [Int]
    /// n x classes when Mixup/CutMix is on, else nil.
    public var softLabels: [Float]?
    /// Each sample's index in its source file (e.g. 0..<60000 for the training file).
    public var indices: [Int]
    /// Position of this batch within its epoch.
    public var step: Int
    /// Files left out of the batch because they did not decode ("path: reason"; image
    /// folders only, whose policy is to skip and report them).
    public var skipped: [String] = []

    public var count: Int { labels.count }
}

/// The batches of one epoch as a pure function of (dataset, seed, epoch, step): the
/// epoch's order comes from `RandomGenerator(seed: seed, stream: epoch, 0xFFFF_FFFF)`, the
/// augmentation of sample i from `RandomGenerator(seed: seed, stream: epoch, i)` (i its
/// source index) and the batch's Mixup/CutMix from stream (epoch, 0xFFFF_FFFE, step).
/// So a resumed run, or any thread, sees the same batches.
public struct EpochPlan: Sendable {
    public let dataset: ImageDataset
    public let batchSize: Int
    public let epoch: Int
    public let seed: UInt64
    public let augmentation: Augmentation
    public let dropLast: Bool
    /// Positions in `dataset`, in this epoch's order.
    public let order: [Int]

    public init(dataset: ImageDataset, batchSize: Int, epoch: Int, seed: UInt64,
                augmentation: Augmentation, shuffle: Bool = true, dropLast: Bool) {
        precondition(batchSize > 0, "batch size must be positive")
        self.dataset = dataset
        self.batchSize = batchSize
        self.epoch = epoch
        self.seed = seed
        self.augmentation = augmentation
        self.dropLast = dropLast
        var order = Array(0..<dataset.count)
        if shuffle {
            var rng = RandomGenerator(seed: seed, stream: UInt64(epoch), 0xFFFF_FFFF)
            rng.shuffle(&order)
        }
        self.order = order
    }

    public var stepCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Batch `step`, or only its `rows` (a data-parallel process's share), which come out
    /// exactly as they are in the whole batch.
    public func batch(at step: Int, rows: Range<Int>? = nil) -> Batch {
        precondition(step >= 0 && step < stepCount, "step \(step) outside 0..<\(stepCount)")
        let whole = (step * batchSize)..<min((step + 1) * batchSize, order.count)
        let rows = rows ?? 0..<whole.count
        precondition(rows.lowerBound >= 0 && rows.upperBound <= whole.count, "rows \(rows) outside a batch of \(whole.count)")
        // Mixup/CutMix mixes sample i with sample n-1-i: the whole batch is built and mixed,
        // then cut. Otherwise each sample depends on itself alone, and only `rows` are built.
        let built = augmentation.mix == nil ? rows : 0..<whole.count
        let positions = Array(order[(whole.lowerBound + built.lowerBound)..<(whole.lowerBound + built.upperBound)])
        let pixels = dataset.pixelsPerImage, size = dataset.size
        var images = [Float](repeating: 0, count: positions.count * pixels)
        var scratch = [Float](repeating: 0, count: pixels)
        images.withUnsafeMutableBufferPointer { all in
            scratch.withUnsafeMutableBufferPointer { scratch in
                for (k, position) in positions.enumerated() {
                    let image = UnsafeMutableBufferPointer(rebasing: all[(k * pixels)..<((k + 1) * pixels)])
                    dataset.writeRawImage(at: position, into: image)
                    var rng = RandomGenerator(seed: seed, stream: UInt64(epoch), UInt64(dataset.sourceIndices[position]))
                    augmentation.apply(to: image, size: size, mean: dataset.mean, std: dataset.std,
                                       scratch: scratch, rng: &rng)
                }
            }
        }
        var labels = positions.map { dataset.labels[$0] }
        var indices = positions.map { dataset.sourceIndices[$0] }
        var soft: [Float]?
        if let mix = augmentation.mix {
            var rng = RandomGenerator(seed: seed, stream: UInt64(epoch), 0xFFFF_FFFE, UInt64(step))
            soft = mix.apply(images: &images, labels: labels, size: size, classes: dataset.classCount, rng: &rng)
        }
        if built != rows {
            let kept = (rows.lowerBound - built.lowerBound)..<(rows.upperBound - built.lowerBound)
            images = Array(images[(kept.lowerBound * pixels)..<(kept.upperBound * pixels)])
            labels = Array(labels[kept])
            indices = Array(indices[kept])
            soft = soft.map { s in
                let classes = dataset.classCount
                return Array(s[(kept.lowerBound * classes)..<(kept.upperBound * classes)])
            }
        }
        return Batch(images: images, labels: labels, softLabels: soft, indices: indices, step: step)
    }
}

/// Yields an epoch's batches from `startStep` on, prepared on a background thread at
/// most `prefetch` batches ahead while the caller runs its step. Batches do not depend on
/// the threading: each is a pure function of its step (`EpochPlan.batch(at:)`, or an
/// image folder's `FolderImages` batch).
public final class BatchLoader: Sequence, IteratorProtocol {
    /// The in-memory plan the batches come from (nil for batches decoded from files).
    public let plan: EpochPlan?
    public let stepCount: Int
    public let startStep: Int
    private let queue: BoundedQueue
    private var nextStep: Int

    /// `rows`: only these rows of each batch (a data-parallel process's share; nil: all).
    public convenience init(dataset: ImageDataset, batchSize: Int, epoch: Int, seed: UInt64, augmentation: Augmentation,
                            shuffle: Bool = true, dropLast: Bool, startStep: Int = 0, rows: Range<Int>? = nil, prefetch: Int = 2) {
        let plan = EpochPlan(dataset: dataset, batchSize: batchSize, epoch: epoch, seed: seed,
                             augmentation: augmentation, shuffle: shuffle, dropLast: dropLast)
        self.init(plan: plan, stepCount: plan.stepCount, startStep: startStep, prefetch: prefetch,
                  name: "BatchLoader epoch \(epoch)") { plan.batch(at: $0, rows: rows) }
    }

    /// Batches `startStep..<stepCount`, each `makeBatch(step)`, made ahead on a thread.
    public convenience init(stepCount: Int, startStep: Int = 0, prefetch: Int = 2, name: String,
                            makeBatch: @escaping (Int) -> Batch) {
        self.init(plan: nil, stepCount: stepCount, startStep: startStep, prefetch: prefetch, name: name, makeBatch: makeBatch)
    }

    private init(plan: EpochPlan?, stepCount: Int, startStep: Int, prefetch: Int, name: String,
                 makeBatch: @escaping (Int) -> Batch) {
        precondition(startStep >= 0 && startStep <= stepCount, "start step \(startStep) outside 0...\(stepCount)")
        self.plan = plan
        self.stepCount = stepCount
        self.startStep = startStep
        self.nextStep = startStep
        let queue = BoundedQueue(capacity: Swift.max(prefetch, 1))
        self.queue = queue
        let steps = startStep..<stepCount
        // The thread holds the batch maker and queue, not the loader, so dropping the loader stops it.
        let thread = Thread {
            for step in steps {
                guard queue.push(makeBatch(step)) else { return }
            }
        }
        thread.name = name
        thread.start()
    }

    deinit { queue.cancel() }

    public func next() -> Batch? {
        guard nextStep < stepCount else { return nil }
        nextStep += 1
        return queue.pop()
    }
}

/// A blocking FIFO of at most `capacity` batches shared by one producer and one consumer.
final class BoundedQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items = [Batch]()
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Blocks while full; returns false once cancelled.
    func push(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(batch)
        condition.broadcast()
        return true
    }

    func pop() -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let batch = items.removeFirst()
        condition.broadcast()
        return batch
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    var bufferedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }
}

extension BatchLoader {
    /// Batches prepared and waiting (at most `prefetch`).
    var queueDepthForTesting: Int { queue.bufferedCount }
}
