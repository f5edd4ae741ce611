import Foundation

/// Shape-only execution for counting parameters and FLOPs of paper-size models
/// without allocating or computing anything. Inside `MetaMode.count`, new parameters
/// and op results are "meta" tensors (a shape, no data), and the multiply-accumulates
/// of convolutions, linear layers and matrix products (attention included) are summed.
/// That is the convention used for every FLOP count in this suite (1 MAC = 1 "FLOP",
/// as papers count); elementwise ops, norms and pooling are not counted.
public enum MetaMode {
    private static let key = "scalekd.meta.macs"

    public static var isActive: Bool { Thread.current.threadDictionary[key] != nil }

    /// Runs `body` in meta mode; returns its result and the multiply-accumulates counted.
    public static func count<T>(_ body: () throws -> T) rethrows -> (T, macs: Int) {
        let dict = Thread.current.threadDictionary
        let was = dict[key]
        dict[key] = 0
        defer { dict[key] = was }
        let r = try withoutGrad(body)
        return (r, dict[key] as! Int)
    }

    static func add(_ macs: Int) {
        let dict = Thread.current.threadDictionary
        if let c = dict[key] as? Int { dict[key] = c + macs }
    }
}

extension Storage {
    /// Storage that records only its element count.
    static func meta(count: Int) -> Storage { Storage(count: count, metaOnly: true) }
}

extension Tensor {
    public var isMeta: Bool { storage.isMeta }

    /// A shape-only tensor.
    public static func meta(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: .meta(count: shape.reduce(1, *)))
    }

    /// In meta mode (or for meta inputs), the op's result is a meta tensor of `shape`
    /// and `macs` are counted; otherwise nil and the op computes.
    static func metaResult(_ inputs: [Tensor], _ shape: [Int], macs: Int = 0) -> Tensor? {
        guard MetaMode.isActive || inputs.contains(where: { $0.isMeta }) else { return nil }
        MetaMode.add(macs)
        return .meta(shape)
    }
}
