import Tensor
import XCTest

/// Random tensor with values in [-1, 1) (or [lo, hi)) from a fixed seed.
public func randomTensor(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1, requiresGrad: Bool = true) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, values: (0..<n).map { _ in lo + (hi - lo) * rng.nextFloat() }, requiresGrad: requiresGrad)
}

/// Finite-difference gradient check.
///
/// The scalar checked is L = sum(f(x) * R) with a fixed random R, so every output
/// element's gradient path is exercised. Central differences in float32 with step
/// `eps`; up to `maxCoordinates` coordinates per input are checked. Tolerance:
/// |analytic - numeric| <= atol + rtol * |numeric|.
public func assertGradientsMatch(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
                          maxCoordinates: Int = 48, file: StaticString = #filePath, line: UInt = #line,
                          _ f: ([Tensor]) -> Tensor) {
    let probe = withoutGrad { f(inputs) }
    let r = randomTensor(probe.shape, seed: 99, requiresGrad: false)
    func loss() -> Double {
        let y = withoutGrad { f(inputs) }
        var acc: Double = 0
        for i in 0..<y.count { acc += Double(y.pointer[i]) * Double(r.pointer[i]) }
        return acc
    }
    for t in inputs { t.grad = nil }
    let y = f(inputs)
    (y * r).sum().backward()
    var rng = RandomGenerator(seed: 7)
    for (k, t) in inputs.enumerated() where t.requiresGrad {
        guard let g = t.grad else { XCTFail("input \(k) got no gradient", file: file, line: line); continue }
        var coords = Array(0..<t.count)
        if coords.count > maxCoordinates { rng.shuffle(&coords); coords = Array(coords.prefix(maxCoordinates)) }
        for i in coords {
            let old = t.pointer[i]
            t.pointer[i] = old + eps
            let lp = loss()
            t.pointer[i] = old - eps
            let lm = loss()
            t.pointer[i] = old
            let numeric = Float((lp - lm) / Double(2 * eps))
            let analytic = g.pointer[i]
            if abs(analytic - numeric) > atol + rtol * abs(numeric) {
                XCTFail("input \(k) \(t.shape) coordinate \(i): analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

/// Elementwise closeness with a readable failure.
public func assertClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var worst: Float = 0, at = -1
    for i in 0..<min(a.count, b.count) {
        let err = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if err > worst { worst = err; at = i }
    }
    if at >= 0 { XCTFail("\(what): element \(at): \(a[at]) vs \(b[at])", file: file, line: line) }
}

/// Norm-wise relative error ||a - b|| / ||b|| below `tolerance`: the measure for long
/// float32 chains, where single tiny elements carry rounding far above their own size.
public func assertRelativeError(_ a: [Float], _ b: [Float], below tolerance: Double, _ what: String = "",
                                file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var diff = 0.0, ref = 0.0
    for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); ref += Double(y) * Double(y) }
    let rel = diff.squareRoot() / max(ref.squareRoot(), 1e-30)
    // A tensor whose true value is zero (a conv bias before batch norm, a bias the DC removal
    // cancels) holds only float32 cancellation noise of terms of order 0.1-1: judged absolutely.
    if ref.squareRoot() < 1e-6 { XCTAssertLessThan(diff.squareRoot(), 1e-5, "\(what): absolute error", file: file, line: line); return }
    XCTAssertLessThan(rel, tolerance, "\(what): relative error \(rel)", file: file, line: line)
}
