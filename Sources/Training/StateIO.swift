import Store
import Tensor

/// Checkpoint <-> module state (parameters and buffers under their dotted names).
public enum StateIO {
    public static func arrays(_ named: [(String, Tensor)]) -> [String: NamedArray] {
        Dictionary(uniqueKeysWithValues: named.map { ($0.0, NamedArray(shape: $0.1.shape, values: $0.1.values)) })
    }

    /// Copies stored arrays into the tensors; every tensor must be present with its shape.
    public static func load(_ arrays: [String: NamedArray], into named: [(String, Tensor)], path: String) throws {
        for (name, t) in named {
            guard let a = arrays[name] else { throw TrainingError.checkpointMismatch(path: path, detail: "no tensor '\(name)'") }
            guard a.shape == t.shape else {
                throw TrainingError.checkpointMismatch(path: path, detail: "'\(name)' is \(a.shape), the model has \(t.shape)")
            }
            a.values.withUnsafeBufferPointer { t.pointer.update(from: $0.baseAddress!, count: t.count) }
        }
    }
}
