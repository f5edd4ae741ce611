import Foundation
import Tensor

/// What to do with a file that does not decode (corrupt, truncated, not an image).
///   skip  leave it out of its batch and count it: a few bad files in 1.28M must not stop
///         a run; every skip is reported with the file and the reason, and the counts of
///         a run's skips are printed at the end (the default)
///   fail  throw `DataError.corruptImage` naming the file (for checking a copy of a dataset)
public enum UnreadableImagePolicy: String, Codable, Sendable { case skip, fail }

/// One batch decoded from an image folder.
public struct FolderBatch: Sendable {
    /// n x 3 x size x size, NCHW, transformed and normalized.
    public var images: [Float]
    public var labels: [Int]
    /// Each sample's position in the folder dataset.
    public var indices: [Int]
    /// Files left out under `.skip`: path and reason.
    public var skipped: [(path: String, reason: String)]

    public var count: Int { labels.count }
}

/// Decodes and transforms batches of a `FolderDataset`, in parallel over the batch. Sample
/// i's augmentation draws from `RandomGenerator(seed:, stream: epoch, i)`, as the small
/// scale's EpochPlan, so any thread or a resumed run sees the same images.
public struct ImageFolderBatches: Sendable {
    public let folder: FolderDataset
    public let transform: ImageNetTransform
    public let policy: UnreadableImagePolicy

    public init(folder: FolderDataset, transform: ImageNetTransform, policy: UnreadableImagePolicy = .skip) {
        self.folder = folder
        self.transform = transform
        self.policy = policy
    }

    /// The epoch's order of sample positions: shuffled (seeded) for training, in file order for eval.
    public func order(epoch: Int, seed: UInt64, limit: Int? = nil) -> [Int] {
        var order = Array(0..<folder.count)
        if transform.kind == .train {
            var rng = RandomGenerator(seed: seed, stream: UInt64(epoch), 0xFFFF_FFFF)
            rng.shuffle(&order)
        }
        if let limit { order = Array(order.prefix(limit)) }
        return order
    }

    public func batch(_ positions: [Int], epoch: Int = 0, seed: UInt64 = 0) throws -> FolderBatch {
        let n = positions.count, stride = transform.floatsPerImage
        var images = [Float](repeating: 0, count: n * stride)
        var failures = [String?](repeating: nil, count: n)
        images.withUnsafeMutableBufferPointer { images in
            failures.withUnsafeMutableBufferPointer { failures in
                parallelForEach(n) { i in
                    let sample = folder.samples[positions[i]]
                    do {
                        let image = try ImageCodecs.decode(path: sample.path)
                        var rng = RandomGenerator(seed: seed, stream: UInt64(epoch), UInt64(positions[i]))
                        transform.apply(to: image, rng: &rng,
                                        into: UnsafeMutableBufferPointer(rebasing: images[(i * stride)..<((i + 1) * stride)]))
                    } catch let error as DataError {
                        if case let .corruptImage(_, reason) = error { failures[i] = reason } else { failures[i] = error.description }
                    } catch {
                        failures[i] = "\(error)"
                    }
                }
            }
        }
        var out = FolderBatch(images: [], labels: [], indices: [], skipped: [])
        out.images.reserveCapacity(n * stride)
        for i in 0..<n {
            let sample = folder.samples[positions[i]]
            if let reason = failures[i] {
                if policy == .fail { throw DataError.corruptImage(path: sample.path, reason: reason) }
                out.skipped.append((sample.path, reason))
                continue
            }
            out.images.append(contentsOf: images[(i * stride)..<((i + 1) * stride)])
            out.labels.append(sample.label)
            out.indices.append(positions[i])
        }
        return out
    }
}
