import Foundation
import Training

/// One share of a table's runs, for spreading them over machines (`scalekd run tableN
/// --shard i/N`, Slurm job arrays). A run belongs to shard 1 + (its key as a number) mod N,
/// so the assignment is stable across invocations and machines; a run that fine-tunes from
/// another goes with the run it starts from (same shard, trained in order).
public struct Shard: Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (1...count).contains(index) else { throw InputError("shard \(index)/\(count): use i/N with 1 <= i <= N") }
        self.index = index; self.count = count
    }

    /// Parses "i/N".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1] else { throw InputError("--shard takes i/N, e.g. 2/8 (got '\(text)')") }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether the run whose assignment key is `key` (a run key: 16 hex digits) is in this shard.
    public func contains(key: String) -> Bool {
        let value = UInt64(key.prefix(16), radix: 16) ?? UInt64(truncatingIfNeeded: key.hashValue)
        return Int(value % UInt64(count)) == index - 1
    }

    /// The runs of `configs` in this shard, in their order; a fine-tuning run is assigned by
    /// the first run of its initFrom chain.
    public func select(_ configs: [RunConfig]) -> [RunConfig] {
        let byKey = Dictionary(configs.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        func root(_ c: RunConfig) -> String {
            var current = c
            while let from = current.initFrom, let parent = byKey[from] { current = parent }
            return current.key
        }
        return configs.filter { contains(key: root($0)) }
    }
}
