import CNative
import Foundation

/// Contiguous float32 memory shared by a tensor and its reshaped views.
public final class Storage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// A shape-only placeholder (see MetaMode): no elements are allocated.
    public let isMeta: Bool

    public init(count: Int, zeroed: Bool = true) {
        _ = Storage.allocatorConfigured
        self.count = count
        isMeta = false
        pointer = .allocate(capacity: Swift.max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: Swift.max(count, 1)) }
    }

    init(count: Int, metaOnly: Bool) {
        self.count = count
        isMeta = true
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: 0)
    }

    deinit { pointer.deallocate() }

    /// glibc returns large blocks to the kernel on free (mmap threshold), so every
    /// activation buffer of the next step page-faults in zeroed pages again. Keeping
    /// freed blocks in the heap removes that cost (it was ~15% of a conv step).
    static let allocatorConfigured: Bool = {
        skd_configure_allocator()
        return true
    }()

    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: pointer, count: count) }
}

/// A recorded operation: its inputs and the function that turns the output's
/// gradient into contributions to the inputs' gradients (accumulated, never overwritten).
final class GradNode {
    let inputs: [Tensor]
    let backward: (Tensor) -> Void
    let name: String

    init(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// A float32 N-d tensor in row-major order with reverse-mode autodiff.
///
/// Leaves with `requiresGrad` accumulate `grad` on `backward()`. A frozen parameter has
/// `requiresGrad == false`: it gets no gradient, but gradients still flow through the
/// ops that use it to any other input that needs one.
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    public var requiresGrad: Bool
    /// True for model weights (so a frozen weight is still a parameter, and a
    /// BN running statistic is a buffer, not a parameter).
    public var isParameter = false
    public var grad: Tensor?
    var node: GradNode?

    public init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    public convenience init(shape: [Int], repeating value: Float) {
        let s = Storage(count: shape.reduce(1, *), zeroed: false)
        s.pointer.initialize(repeating: value, count: Swift.max(s.count, 1))
        self.init(shape: shape, storage: s)
    }

    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        let s = Storage(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { s.pointer.initialize(from: $0.baseAddress!, count: values.count) }
        self.init(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    public convenience init(scalar: Float) { self.init(shape: [], values: [scalar]) }

    /// An uninitialised result buffer for op outputs (every element is written by the op).
    static func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false))
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var buffer: UnsafeMutableBufferPointer<Float> { storage.buffer }
    public var values: [Float] { Array(storage.buffer) }
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with \(count) elements")
        return pointer[0]
    }

    /// Size of an axis; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    public func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for shape \(shape)")
        return a
    }

    /// A copy that is not connected to the graph.
    public func detached() -> Tensor {
        let t = Tensor.empty(shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    /// Copies values in place (used for loading weights and optimizer updates).
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}
