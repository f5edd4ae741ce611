import Tensor

/// The random stream of a module's drop-path (or dropout) draws. It is restarted before
/// every training step from (its base, the run's seed, the step), so a run resumed from a
/// checkpoint draws the same masks as an uninterrupted one without storing any RNG state.
/// `rows` says which rows of the step's global batch this process holds (nil: all), so a
/// data-parallel process draws the masks of the whole batch and keeps its own.
public struct StochasticStream {
    public let base: UInt64
    public var rng: RandomGenerator
    public private(set) var rows: BatchRows? = nil

    /// Takes the stream's base from the model's build-time generator.
    public init(_ build: inout RandomGenerator) {
        base = build.next()
        rng = RandomGenerator(seed: base)
    }

    public mutating func restart(seed: UInt64, step: Int, rows: BatchRows?) {
        rng = RandomGenerator(seed: base, stream: seed, UInt64(step))
        self.rows = rows
    }
}

/// A module with a `StochasticStream` of its own.
public protocol StochasticLayer: Module {
    func restartStream(seed: UInt64, step: Int, rows: BatchRows?)
}

extension Module {
    /// Restarts the stream of every stochastic module in this tree (the trainer calls it
    /// before each step).
    public func reseedStochasticLayers(seed: UInt64, step: Int, rows: BatchRows? = nil) {
        for s in stochasticLayers() { s.restartStream(seed: seed, step: step, rows: rows) }
    }

    /// Every stochastic module in this tree (found by reflection: collect once, outside a
    /// training loop).
    public func stochasticLayers() -> [StochasticLayer] {
        ((self as? StochasticLayer).map { [$0] } ?? []) + childModules().flatMap { $0.1.stochasticLayers() }
    }
}

/// Stochastic depth of block `index` of `count`: rising linearly from 0 to `maxRate`
/// over the blocks (timm's schedule).
public func stochasticDepthRate(_ maxRate: Float, block index: Int, of count: Int) -> Float {
    count > 1 ? maxRate * Float(index) / Float(count - 1) : 0
}
