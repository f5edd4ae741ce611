import CFFTW
import CNative
import Foundation

/// The orthonormal DCT-II matrix D[k][i] = s_k cos(pi (2i + 1) k / 2n), s_0 = sqrt(1/n),
/// s_k = sqrt(2/n). Orthonormal, so its inverse is its transpose.
public func dctMatrix(_ n: Int) -> Tensor {
    var v = [Float](repeating: 0, count: n * n)
    for k in 0..<n {
        let s = k == 0 ? (1.0 / Double(n)).squareRoot() : (2.0 / Double(n)).squareRoot()
        for i in 0..<n { v[k * n + i] = Float(s * cos(Double.pi * Double(2 * i + 1) * Double(k) / Double(2 * n))) }
    }
    return Tensor(shape: [n, n], values: v)
}

public enum DCTMethod: String, Codable, Sendable { case matrix, fftw }

extension Tensor {
    /// Orthonormal 2-D DCT-II over the last two axes: Y = D_H X D_W^T.
    /// The matrix route is built from matmul (its gradient comes for free); the FFTW
    /// route is for large maps and records the inverse transform as its backward.
    public func dct2d(method: DCTMethod = .matrix) -> Tensor {
        switch method {
        case .matrix:
            let h = shape[rank - 2], w = shape[rank - 1]
            let t = matmul(dctMatrix(w), transposeB: true).transposed(-1, -2)
            return t.matmul(dctMatrix(h), transposeB: true).transposed(-1, -2)
        case .fftw:
            let out = fftwDCT(inverse: false)
            return out.record("dct2d_fftw", [self]) { g in self.accumulateGrad(g.fftwDCT(inverse: true), owned: true) }
        }
    }

    /// Inverse of `dct2d`: X = D_H^T Y D_W.
    public func idct2d(method: DCTMethod = .matrix) -> Tensor {
        switch method {
        case .matrix:
            let h = shape[rank - 2], w = shape[rank - 1]
            let t = matmul(dctMatrix(w)).transposed(-1, -2)
            return t.matmul(dctMatrix(h)).transposed(-1, -2)
        case .fftw:
            let out = fftwDCT(inverse: true)
            return out.record("idct2d_fftw", [self]) { g in self.accumulateGrad(g.fftwDCT(inverse: false), owned: true) }
        }
    }

    /// FFTW's REDFT10 (DCT-II) / REDFT01 (DCT-III) with the scaling that makes them orthonormal.
    func fftwDCT(inverse: Bool) -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let h = shape[rank - 2], w = shape[rank - 1], planes = count / (h * w)
        let out = Tensor.empty(shape)
        let src = Tensor.empty(shape)
        src.pointer.update(from: pointer, count: count)
        let sh = Float(0.5 * (2.0 / Double(h)).squareRoot()), sw = Float(0.5 * (2.0 / Double(w)).squareRoot())
        let c0h = Float((0.5).squareRoot()), c0w = Float((0.5).squareRoot())
        // Orthonormal = unnormalised * (s_k / 2) per axis; for the inverse the scale goes on the input.
        if inverse {
            let p = src.pointer
            for pl in 0..<planes { for y in 0..<h { for x in 0..<w {
                var s = sh * sw
                if y == 0 { s *= c0h * 2 }
                if x == 0 { s *= c0w * 2 }
                p[(pl * h + y) * w + x] *= s
            } } }
        }
        var n: [Int32] = [Int32(h), Int32(w)]
        var kinds: [fftw_r2r_kind] = inverse ? [FFTW_REDFT01, FFTW_REDFT01] : [FFTW_REDFT10, FFTW_REDFT10]
        FFTWLock.lock.lock()
        let plan = fftwf_plan_many_r2r(2, &n, Int32(planes), src.pointer, nil, 1, Int32(h * w),
                                       out.pointer, nil, 1, Int32(h * w), &kinds, UInt32(FFTW_ESTIMATE))
        FFTWLock.lock.unlock()
        fftwf_execute(plan)
        FFTWLock.lock.lock()
        fftwf_destroy_plan(plan)
        FFTWLock.lock.unlock()
        if !inverse {
            let p = out.pointer
            for pl in 0..<planes { for y in 0..<h { for x in 0..<w {
                var s = sh * sw
                if y == 0 { s *= c0h }
                if x == 0 { s *= c0w }
                p[(pl * h + y) * w + x] *= s
            } } }
        }
        return out
    }
}

/// FFTW's planner is not thread-safe; execution is.
enum FFTWLock { static let lock = NSLock() }

public enum FFTW {
    /// The FFTW version string of the loaded library (e.g. "fftw-3.3.10-sse2-avx").
    /// The symbol is an unsized C array, which Swift cannot import, so it is looked up.
    public static var version: String {
        _ = fftwf_alignment_of  // ensures libfftw3f is linked and loaded
        guard let p = skd_exported_string("fftwf_version") else { return "unknown" }
        return String(cString: p)
    }
}
