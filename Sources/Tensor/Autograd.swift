import Foundation

/// Gradient recording switch. Thread-local so a background data thread never
/// changes what the training thread records.
public enum GradMode {
    private static let key = "scalekd.gradmode.disabled"

    public static var isEnabled: Bool {
        Thread.current.threadDictionary[key] == nil
    }

    /// Runs `body` without recording any op (evaluation, teacher forward, EMA).
    public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
        let dict = Thread.current.threadDictionary
        let was = dict[key]
        dict[key] = true
        defer { dict[key] = was }
        return try body()
    }
}

public func withoutGrad<T>(_ body: () throws -> T) rethrows -> T { try GradMode.withoutGrad(body) }

extension Tensor {
    /// Records `backward` for this result when grad mode is on and any input needs a gradient.
    /// The closure receives the output gradient and must accumulate into the inputs
    /// with `accumulateGrad` (only inputs whose `requiresGrad` is true).
    @discardableResult
    func record(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        if GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) {
            requiresGrad = true
            node = GradNode(name, inputs, backward)
        }
        return self
    }

    /// The gradient buffer of this tensor, created (zeroed) on first use.
    func gradBuffer() -> Tensor {
        if let g = grad { return g }
        let g = Tensor(zeros: shape)
        grad = g
        return g
    }

    /// grad += g. Pass `owned: true` only for a fresh tensor made for this input alone:
    /// it is then adopted without a copy.
    func accumulateGrad(_ g: Tensor, owned: Bool = false) {
        guard requiresGrad else { return }
        precondition(g.count == count, "gradient of \(g.shape) for a tensor of \(shape)")
        if grad == nil {
            if owned && g.shape == shape { grad = g; return }
            let copy = Tensor.empty(shape), d = copy.pointer, s = g.pointer
            parallelFor(count, grain: 1 << 15) { r in (d + r.lowerBound).update(from: s + r.lowerBound, count: r.count) }
            grad = copy
            return
        }
        let d = grad!.pointer, s = g.pointer
        parallelFor(count, grain: 1 << 15) { r in for i in r { d[i] += s[i] } }
    }

    /// Accumulates through a closure writing directly into the (zero-initialised) gradient buffer.
    func accumulateGrad(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        guard requiresGrad else { return }
        body(gradBuffer().pointer)
    }

    /// Reverse-mode sweep from this scalar (or from `seed` for a non-scalar output).
    /// Leaf gradients accumulate; intermediate gradients are released as soon as used.
    public func backward(seed: Tensor? = nil) {
        precondition(seed != nil || count == 1, "backward() without a seed needs a scalar, got \(shape)")
        guard requiresGrad else { fatalError("backward(): the output does not depend on any tensor that requires a gradient") }
        // Topological order by iterative DFS.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if visited.contains(ObjectIdentifier(t)) { continue }
            visited.insert(ObjectIdentifier(t))
            stack.append((t, true))
            if let n = t.node {
                for i in n.inputs where i.requiresGrad && !visited.contains(ObjectIdentifier(i)) {
                    stack.append((i, false))
                }
            }
        }
        let g = seed ?? Tensor(shape: shape, repeating: 1)
        accumulateGrad(g)
        withoutGrad {
            for t in order.reversed() {
                guard let n = t.node, let gOut = t.grad else { continue }
                n.backward(gOut)
                t.grad = nil  // intermediate: free memory now
            }
        }
    }

}
