import Foundation
import Tensor

extension ImageDataset {
    /// Positions (in this dataset) of a seeded, class-balanced subset: for each class, its samples are
    /// shuffled by `RandomGenerator(seed: seed, stream: 0x5355_4253, class)` and the first
    /// `perClass` kept. The result is sorted, so it does not depend on class order.
    public func classBalancedIndices(perClass: Int, seed: UInt64) -> [Int] {
        var byClass = [[Int]](repeating: [], count: classCount)
        for (position, label) in labels.enumerated() { byClass[label].append(position) }
        var chosen = [Int]()
        for (label, var positions) in byClass.enumerated() {
            precondition(positions.count >= perClass,
                         "\(name): class \(label) has \(positions.count) samples, fewer than \(perClass) per class")
            var rng = RandomGenerator(seed: seed, stream: 0x5355_4253, UInt64(label))
            rng.shuffle(&positions)
            chosen.append(contentsOf: positions.prefix(perClass))
        }
        return chosen.sorted()
    }

    /// The class-balanced subset itself (positions from `classBalancedIndices`).
    public func classBalancedSubset(perClass: Int, seed: UInt64, name: String? = nil) -> ImageDataset {
        let positions = classBalancedIndices(perClass: perClass, seed: seed)
        return subset(positions, name: name ?? "\(self.name)-\(perClass)per-class-seed\(seed)")
    }

    /// SHA-256 of this dataset's source indices; see `ImageDataset.indexListSHA256`.
    public var indexListSHA256: String { Self.indexListSHA256(sourceIndices) }

    /// SHA-256 of an index list, hashed as decimal text: the indices sorted ascending, each
    /// followed by "\n". Anyone can check it with `printf '%s\n' 3 17 ... | sha256sum`.
    public static func indexListSHA256(_ indices: [Int]) -> String {
        var text = ""
        for i in indices.sorted() { text += "\(i)\n" }
        return SHA256.hexDigest(text)
    }
}
