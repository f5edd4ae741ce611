import Foundation
import Store

/// How far apart two checkpoints of one model at one step are (a data-parallel run against
/// one process, a resumed run against an uninterrupted one), per part: ||a - b|| / ||a|| over
/// all its values, and max|a - b| / max|a| of each tensor.
public struct CheckpointDifference: CustomStringConvertible {
    public struct Part {
        public var tensors = 0, identical = 0
        /// ||a - b|| / ||a|| (Euclidean norms) over every value of the part.
        public var overall = 0.0
        /// max|a - b| / max|a| of each tensor that differs, largest first.
        public var byTensor: [(name: String, relative: Double)] = []
    }

    /// Parameters and buffers (BatchNorm's running statistics).
    public var weights: Part
    /// Optimizer state and the evaluation curve; not the wall time, which no two runs share.
    public var optimizer: Part

    public init(_ a: Checkpoint, _ b: Checkpoint) throws {
        guard a.step == b.step else { throw TrainingError.incomparableCheckpoints(detail: "steps \(a.step) and \(b.step)") }
        weights = try CheckpointDifference.compare(a.parameters, b.parameters)
        let skipped = [Trainer.wallKey]
        optimizer = try CheckpointDifference.compare(a.optimizerState.filter { !skipped.contains($0.key) },
                                                     b.optimizerState.filter { !skipped.contains($0.key) })
    }

    public var isIdentical: Bool { weights.identical == weights.tensors && optimizer.identical == optimizer.tensors }

    public var description: String {
        func line(_ name: String, _ p: Part) -> String {
            "\(name): \(p.identical) of \(p.tensors) tensors bit-identical; ||a - b|| / ||a|| "
                + String(format: "%.3g", p.overall) + (p.byTensor.isEmpty ? "" : "; largest max|a - b| / max|a| of a tensor: "
                + p.byTensor.prefix(3).map { String(format: "%.3g", $0.relative) + " (\($0.name))" }.joined(separator: ", "))
        }
        return line("weights", weights) + "\n" + line("optimizer state", optimizer)
    }

    static func compare(_ a: [String: NamedArray], _ b: [String: NamedArray]) throws -> Part {
        guard Set(a.keys) == Set(b.keys) else {
            throw TrainingError.incomparableCheckpoints(detail: "tensors only in one: \(Set(a.keys).symmetricDifference(b.keys).sorted().prefix(5))")
        }
        var part = Part()
        var squaredDifference = 0.0, squared = 0.0
        for (name, x) in a.sorted(by: { $0.key < $1.key }) {
            let y = b[name]!
            guard x.shape == y.shape else {
                throw TrainingError.incomparableCheckpoints(detail: "\(name) is \(x.shape) and \(y.shape)")
            }
            part.tensors += 1
            // Bit patterns, so NaN (an unevaluated test top-1 in the curve) equals itself.
            if x.values.map(\.bitPattern) == y.values.map(\.bitPattern) { part.identical += 1 }
            var largest = 0.0, largestDifference = 0.0
            for (u, v) in zip(x.values, y.values) where !(u.isNaN && v.isNaN) {
                let d = Double(u) - Double(v)
                squaredDifference += d * d
                squared += Double(u) * Double(u)
                largest = max(largest, abs(Double(u)))
                largestDifference = max(largestDifference, abs(d).isNaN ? .infinity : abs(d))
            }
            if largestDifference > 0 { part.byTensor.append((name, largest > 0 ? largestDifference / largest : .infinity)) }
        }
        part.overall = squared > 0 ? (squaredDifference / squared).squareRoot() : (squaredDifference > 0 ? .infinity : 0)
        part.byTensor.sort { $0.relative > $1.relative }
        return part
    }
}
