import CNative
import Foundation

// Elementwise arithmetic with broadcasting. Each op computes its result and records
// its backward right here.

/// The four arithmetic operators, numbered as skd_binary takes them.
private enum BinaryOp: Int32 {
    case add, sub, mul, div
}

/// out = a op b over broadcast shapes (same shapes: one vectorised C loop; else one per row).
@inline(__always)
private func binaryKernel(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
    if let m = Tensor.metaResult([a, b], broadcastShape(a.shape, b.shape)) { return m }
    if a.shape == b.shape {
        let out = Tensor.empty(a.shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        parallelFor(a.count, grain: 1 << 15) { r in
            skd_binary(op.rawValue, pa + r.lowerBound, 1, pb + r.lowerBound, 1, po + r.lowerBound, r.count)
        }
        return out
    }
    let shape = broadcastShape(a.shape, b.shape)
    let out = Tensor.empty(shape)
    let pa = a.pointer, pb = b.pointer, po = out.pointer
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    parallelFor(shape.dropLast().reduce(1, *), grain: broadcastRowGrain(shape)) { rows in
        forEachBroadcast(shape, sa, sb, rows: rows) { oo, ao, bo, n, sa, sb in
            skd_binary(op.rawValue, pa + ao, sa, pb + bo, sb, po + oo, n)
        }
    }
    return out
}

/// out = a op s, unrecorded (one vectorised C loop; a closure per element did not vectorise).
private func scalarKernel(_ a: Tensor, _ s: Float, _ op: BinaryOp) -> Tensor {
    if let m = Tensor.metaResult([a], a.shape) { return m }
    let out = Tensor.empty(a.shape)
    let pa = a.pointer, po = out.pointer
    withUnsafePointer(to: s) { ps in
        parallelFor(a.count, grain: 1 << 15) { r in
            skd_binary(op.rawValue, pa + r.lowerBound, 1, ps, 0, po + r.lowerBound, r.count)
        }
    }
    return out
}

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        binaryKernel(a, b, .add).record("add", [a, b]) { g in
            // g is this output's gradient alone and is released after this call (backward()),
            // so a same-shaped `a` adopts it instead of copying (residual branches).
            if a.requiresGrad { a.accumulateGrad(g.sum(toShape: a.shape), owned: a.shape == g.shape && a !== b) }
            if b.requiresGrad { b.accumulateGrad(g.sum(toShape: b.shape)) }
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        binaryKernel(a, b, .sub).record("sub", [a, b]) { g in
            if a.requiresGrad { a.accumulateGrad(g.sum(toShape: a.shape), owned: a.shape == g.shape && a !== b) }
            if b.requiresGrad { b.accumulateGrad(g.sum(toShape: b.shape).scaled(-1), owned: true) }
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        binaryKernel(a, b, .mul).record("mul", [a, b]) { g in
            if a.requiresGrad { a.accumulateGrad(binaryKernel(g, b, .mul).sum(toShape: a.shape), owned: true) }
            if b.requiresGrad { b.accumulateGrad(binaryKernel(g, a, .mul).sum(toShape: b.shape), owned: true) }
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        binaryKernel(a, b, .div).record("div", [a, b]) { g in
            if a.requiresGrad { a.accumulateGrad(binaryKernel(g, b, .div).sum(toShape: a.shape), owned: true) }
            if b.requiresGrad {
                // d(a/b)/db = -a / b^2
                let t = binaryKernel(binaryKernel(g, a, .mul), binaryKernel(b, b, .mul), .div)
                b.accumulateGrad(t.sum(toShape: b.shape).scaled(-1), owned: true)
            }
        }
    }

    public static func + (a: Tensor, s: Float) -> Tensor {
        scalarKernel(a, s, .add).record("add_scalar", [a]) { g in a.accumulateGrad(g, owned: true) }
    }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func * (a: Tensor, s: Float) -> Tensor {
        scalarKernel(a, s, .mul).record("mul_scalar", [a]) { g in a.accumulateGrad(g.scaled(s), owned: true) }
    }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func - (s: Float, a: Tensor) -> Tensor { (-a) + s }
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }

    /// Unary map y = f(x) with derivative df(x, y); both given side by side at the call.
    @inline(__always)
    public func map(_ name: String, _ f: (Float) -> Float, _ df: @escaping (Float, Float) -> Float) -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let out = Tensor.empty(shape)
        // Closures keep raw pointers to the output, never the output itself: the output
        // owns the closure, so capturing it would leak the graph.
        let px = pointer, po = out.pointer
        parallelFor(count, grain: 1 << 14) { r in for i in r { po[i] = f(px[i]) } }
        return out.record(name, [self]) { g in
            let gi = Tensor.empty(self.shape)
            let pg = g.pointer, pd = gi.pointer, px = self.pointer, py = po
            parallelFor(self.count, grain: 1 << 14) { r in for i in r { pd[i] = pg[i] * df(px[i], py[i]) } }
            self.accumulateGrad(gi, owned: true)
        }
    }

    public func exp() -> Tensor { map("exp", { Foundation.exp($0) }, { _, y in y }) }
    public func log() -> Tensor { map("log", { Foundation.log($0) }, { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { map("sqrt", { $0.squareRoot() }, { _, y in 0.5 / y }) }
    public func squared() -> Tensor { map("square", { $0 * $0 }, { x, _ in 2 * x }) }
    public func pow(_ p: Float) -> Tensor { map("pow", { Foundation.pow($0, p) }, { x, _ in p * Foundation.pow(x, p - 1) }) }
    public func abs() -> Tensor { map("abs", { Swift.abs($0) }, { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
    public func tanh() -> Tensor { map("tanh", { Foundation.tanh($0) }, { _, y in 1 - y * y }) }
    public func sigmoid() -> Tensor { map("sigmoid", { 1 / (1 + Foundation.exp(-$0)) }, { _, y in y * (1 - y) }) }

    /// A plain (not recorded) scaled copy, for gradients.
    func scaled(_ s: Float) -> Tensor { scalarKernel(self, s, .mul) }
}
