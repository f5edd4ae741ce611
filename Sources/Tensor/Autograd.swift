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
        if OpProfile.enabled { OpProfile.mark(GradMode.isEnabled ? name : name + " (no grad)") }
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
            if OpProfile.enabled { OpProfile.mark("(backward: graph walk)") }
            for t in order.reversed() {
                guard let n = t.node, let gOut = t.grad else { continue }
                n.backward(gOut)
                if OpProfile.enabled { OpProfile.mark(n.name + " backward") }
                t.grad = nil  // intermediate: free memory now
            }
        }
    }

}

/// SCALEKD_OP_PROFILE=1: wall time by op, for finding what a training step spends its time
/// on. Each `mark(label)` charges the time since the previous mark to `label`; every op's
/// forward marks itself when it records (so a forward op is charged from the end of the op
/// before it: its own work plus the glue between), every backward closure is charged on
/// return, and callers mark their own sections ("optimizer step"). Meant for one training
/// thread (the ops' inner loops may use the pool).
public enum OpProfile {
    public static let enabled = ProcessInfo.processInfo.environment["SCALEKD_OP_PROFILE"] != nil
    nonisolated(unsafe) private static var table: [String: (seconds: Double, calls: Int)] = [:]
    nonisolated(unsafe) private static var last: UInt64 = 0
    private static let lock = NSLock()

    /// Charges the time since the previous mark to `label` (the first mark only starts the clock).
    public static func mark(_ label: String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock(); defer { lock.unlock() }
        if last != 0 {
            let old = table[label] ?? (0, 0)
            table[label] = (old.seconds + Double(now - last) / 1e9, old.calls + 1)
        }
        last = now
    }

    /// Forgets what was charged so far (after warm-up) and restarts the clock.
    public static func reset() {
        lock.lock(); defer { lock.unlock() }
        table = [:]
        last = DispatchTime.now().uptimeNanoseconds
    }

    /// The `top` labels by time, with their share of everything charged.
    public static func report(top: Int = 40) -> String {
        lock.lock(); defer { lock.unlock() }
        let total = table.values.reduce(0) { $0 + $1.seconds }
        let rows = table.sorted { $0.value.seconds > $1.value.seconds }.prefix(top).map { key, v in
            String(format: "%9.3f s %5.1f%% %8d calls  ", v.seconds, 100 * v.seconds / max(total, 1e-12), v.calls) + key
        }
        return ([String(format: "Op time (SCALEKD_OP_PROFILE), %.3f s charged in all:", total)] + rows).joined(separator: "\n")
    }
}
