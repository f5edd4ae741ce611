@testable import Tensor
import TestSupport
import XCTest

final class EngineTests: XCTestCase {
    /// GEMM under the chosen OpenBLAS kernel and under oneDNN (SCALEKD_GEMM) against a float64
    /// triple loop, for odd shapes (window attention's among them) and every transpose combination;
    /// the last three are large enough to be split over the loop threads (by rows, by columns, and
    /// by rows with a short last block).
    func testGEMMMatchesFloat64Reference() {
        for backend in GEMMBackend.allCases { GEMMBackend.using(backend) { gemmMatchesFloat64Reference(backend) } }
    }

    private func gemmMatchesFloat64Reference(_ backend: GEMMBackend) {
        let info = BLAS.info
        XCTAssertFalse(info.coreName.isEmpty)
        for (m, n, k) in [(1, 1, 1), (7, 13, 5), (16, 16, 24), (5, 64, 64), (64, 33, 3), (33, 17, 65), (64, 300, 3),
                          (129, 67, 255), (40, 703, 97), (301, 33, 70)] {
            for ta in [false, true] { for tb in [false, true] {
                let a = randomTensor(ta ? [k, m] : [m, k], seed: UInt64(m * 7 + k), requiresGrad: false)
                let b = randomTensor(tb ? [n, k] : [k, n], seed: UInt64(n * 11 + k), requiresGrad: false)
                let c = a.matmul(b, transposeA: ta, transposeB: tb)
                var worst = 0.0
                for i in 0..<m { for j in 0..<n {
                    var acc = 0.0
                    for p in 0..<k {
                        let av = Double(ta ? a.pointer[p * m + i] : a.pointer[i * k + p])
                        let bv = Double(tb ? b.pointer[j * k + p] : b.pointer[p * n + j])
                        acc += av * bv
                    }
                    worst = max(worst, abs(acc - Double(c.pointer[i * n + j])) / max(1, abs(acc)))
                } }
                XCTAssertLessThan(worst, 1e-5, "sgemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb) on \(backend) (OpenBLAS kernel \(info.coreName))")
            } }
        }
    }

    /// alpha, beta and leading dimensions wider than the matrices: C = 0.5 op(A) op(B) + 2 C
    /// inside a wider C whose other columns stay (both libraries).
    func testGEMMAlphaBetaAndStrides() {
        for backend in GEMMBackend.allCases { GEMMBackend.using(backend) { gemmAlphaBetaAndStrides() } }
    }

    /// Under auto, the blocks the rule names run on oneDNN and the rest on OpenBLAS: tiny
    /// window-attention products stay on OpenBLAS on every kernel variant.
    func testGEMMRule() throws {
        guard GEMMBackend.policy == .auto else { throw XCTSkip("SCALEKD_GEMM=\(GEMMBackend.policy) set") }
        XCTAssertEqual(GEMMBackend.choice(m: 16, n: 16, k: 16), .openblas)
        XCTAssertEqual(GEMMBackend.choice(m: 8, n: 512, k: 64), .openblas)
        if KernelISA.info.name == "avx2" { XCTAssertEqual(GEMMBackend.choice(m: 4096, n: 256, k: 64), .dnnl) }
    }

    private func gemmAlphaBetaAndStrides() {
        for (m, n, k) in [(6, 20, 9), (300, 40, 30)] {
            for ta in [false, true] { for tb in [false, true] {
                let (lda, ldb, ldc) = ((ta ? m : k) + 3, (tb ? k : n) + 5, n + 2)
                let a = randomTensor([(ta ? k : m) * lda], seed: 5, requiresGrad: false).values
                let b = randomTensor([(tb ? n : k) * ldb], seed: 6, requiresGrad: false).values
                var c = randomTensor([m * ldc], seed: 7, requiresGrad: false).values
                let c0 = c
                BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 2, c: &c, ldc: ldc)
                var worst = 0.0
                for i in 0..<m { for j in 0..<ldc {
                    var want = Double(c0[i * ldc + j])
                    if j < n {
                        var acc = 0.0
                        for p in 0..<k { acc += Double(ta ? a[p * lda + i] : a[i * lda + p]) * Double(tb ? b[j * ldb + p] : b[p * ldb + j]) }
                        want = 0.5 * acc + 2 * want
                    }
                    worst = max(worst, abs(want - Double(c[i * ldc + j])) / max(1, abs(want)))
                } }
                XCTAssertLessThan(worst, 1e-5, "sgemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb) with alpha, beta, strides")
            } }
        }
    }

    /// The direct 3x3 kernel against im2col + GEMM, forward and both gradients, on shapes
    /// that exercise its tails: channels not a multiple of its 8-channel tile, plane sizes
    /// whose padded length is not a multiple of its 32-position tile, one input channel;
    /// planes of 16x16 and more also take its direct weight gradient.
    func testDirect3x3ConvMatchesGEMMPath() {
        for (n, cin, cout, h, w) in [(3, 16, 16, 32, 32), (2, 5, 13, 9, 11), (2, 1, 16, 8, 8), (1, 24, 64, 8, 10), (2, 3, 2, 1, 1), (2, 3, 5, 16, 17)] {
            let seed = UInt64(cin * 31 + cout * 7 + h)
            let x = randomTensor([n, cin, h, w], seed: seed), wt = randomTensor([cout, cin, 3, 3], seed: seed + 1)
            let bias = randomTensor([cout], seed: seed + 2), r = randomTensor([n, cout, h, w], seed: seed + 3, requiresGrad: false)
            var results: [[[Float]]] = []
            for algorithm in [ConvAlgorithm.gemm, .direct3x3] {
                for t in [x, wt, bias] { t.grad = nil }
                let y = x.conv2d(weight: wt, bias: bias, stride: 1, padding: 1, groups: 1, algorithm: algorithm)
                (y * r).sum().backward()
                results.append([y.values, x.grad!.values, wt.grad!.values, bias.grad!.values])
            }
            for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                assertRelativeError(results[1][i], results[0][i], below: 1e-5, "\(what), \(n)x\(cin)x\(h)x\(w) -> \(cout)")
            }
        }
    }

    /// The channels-last depthwise conv equals the NCHW one between permutes, forward and
    /// every gradient (kernel 3 and 7, planes smaller than the kernel, 20 channels: a vector tail).
    func testChannelsLastDepthwiseMatchesNCHW() {
        for backend in ConvBackend.allCases { ConvBackend.using(backend) { channelsLastDepthwiseMatchesNCHW() } }
    }

    private func channelsLastDepthwiseMatchesNCHW() {
        for (n, h, w, c, k) in [(3, 8, 8, 16, 3), (2, 5, 9, 20, 7), (2, 2, 3, 4, 7)] {
            let seed = UInt64(h * 13 + c + k)
            let x = randomTensor([n, h, w, c], seed: seed), wt = randomTensor([c, 1, k, k], seed: seed + 1)
            let bias = randomTensor([c], seed: seed + 2), r = randomTensor([n, h, w, c], seed: seed + 3, requiresGrad: false)
            var results: [[[Float]]] = []
            for channelsLast in [false, true] {
                for t in [x, wt, bias] { t.grad = nil }
                let y = channelsLast ? x.depthwiseConv2dChannelsLast(weight: wt, bias: bias)
                    : x.permuted([0, 3, 1, 2]).conv2d(weight: wt, bias: bias, stride: 1, padding: k / 2, groups: c).permuted([0, 2, 3, 1])
                (y * r).sum().backward()
                results.append([y.values, x.grad!.values, wt.grad!.values, bias.grad!.values])
            }
            for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                assertRelativeError(results[1][i], results[0][i], below: 1e-5, "\(what), \(n)x\(h)x\(w)x\(c), k \(k)")
            }
        }
    }

    /// The one-pass q/k/v split equals slicing the parts and permuting the heads, forward and
    /// backward (each part's gradient lands in its own columns of the input's).
    func testSplitHeadsMatchesSliceAndPermute() {
        let (b, l, parts, heads, d) = (3, 5, 3, 2, 4)
        let x = randomTensor([b, l, parts * heads * d], seed: 40)
        let r = (0..<parts).map { randomTensor([b, heads, l, d], seed: 41 + UInt64($0), requiresGrad: false) }
        var results: [[[Float]]] = []
        for fused in [false, true] {
            x.grad = nil
            let ys = fused ? x.splitHeads(parts: parts, heads: heads)
                : (0..<parts).map { p in
                    x.reshaped([b, l, parts, heads * d]).sliced(axis: 2, p..<(p + 1)).reshaped([b, l, heads, d]).permuted([0, 2, 1, 3])
                }
            zip(ys, r).map { ($0 * $1).sum() }.reduce(Tensor(zeros: []), +).backward()
            results.append(ys.map(\.values) + [x.grad!.values])
        }
        XCTAssertEqual(results[1], results[0])
    }

    /// Permutes that reduce to a batched transpose (NCHW <-> NHWC, [B, L, C] <-> [B, C, L],
    /// with size-1 axes in between) take the tiled path; compared with index arithmetic.
    func testPermuteMatchesIndexArithmetic() {
        for (shape, order) in [([2, 3, 5, 7], [0, 2, 3, 1]), ([2, 5, 7, 3], [0, 3, 1, 2]), ([40, 33], [1, 0]),
                               ([3, 1, 37, 2, 35], [0, 3, 4, 1, 2]), ([2, 3, 4, 5], [2, 0, 3, 1]), ([1, 6, 1, 70], [3, 1, 0, 2]),
                               ([2, 19, 9, 7], [0, 2, 3, 1]), ([2, 64, 16, 16], [0, 2, 3, 1]), ([3, 8, 8, 40], [0, 3, 1, 2])] {
            let x = randomTensor(shape, seed: UInt64(shape.reduce(1, *)), requiresGrad: false)
            let y = x.permuted(order), xv = x.values, yv = y.values
            var inStrides = [Int](repeating: 1, count: shape.count)
            for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
            let outShape = order.map { shape[$0] }
            var mismatches = 0
            for flat in 0..<yv.count {
                var rem = flat, src = 0
                for d in stride(from: outShape.count - 1, through: 0, by: -1) {
                    src += (rem % outShape[d]) * inStrides[order[d]]; rem /= outShape[d]
                }
                if yv[flat] != xv[src] { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "permute \(shape) by \(order)")
        }
    }

    func testKernelChosenFromCPUFlags() throws {
        // Unless the user overrides it, the loaded kernel is the one the flags ask for.
        let env = ProcessInfo.processInfo.environment
        guard env["SCALEKD_BLAS_CORETYPE"] == nil, env["OPENBLAS_CORETYPE"] == nil || BLAS.info.reason.contains("chosen") else {
            throw XCTSkip("the BLAS kernel is overridden by the environment (\(BLAS.info.reason))")
        }
        let want = BLAS.coreTypeForThisCPU()
        if !want.isEmpty { XCTAssertEqual(BLAS.info.coreName.lowercased(), want.lowercased()) }
    }

    func testDCTRoutesAgreeAndInvert() {
        let x = randomTensor([3, 4, 8, 6], seed: 50, requiresGrad: false)
        let viaMatrix = x.dct2d(method: .matrix), viaFFTW = x.dct2d(method: .fftw)
        assertClose(viaMatrix.values, viaFFTW.values, atol: 1e-5, rtol: 1e-4, "DCT matrix vs FFTW")
        assertClose(viaMatrix.idct2d(method: .fftw).values, x.values, atol: 1e-5, rtol: 1e-4, "DCT round trip")
        assertClose(x.idct2d(method: .matrix).values, x.idct2d(method: .fftw).values, atol: 1e-5, rtol: 1e-4, "IDCT matrix vs FFTW")
        // The (0,0) coefficient is the channel mean times sqrt(H W).
        let mean = x.mean(axes: [2, 3]).values
        for i in 0..<12 { XCTAssertEqual(viaMatrix.pointer[i * 48], mean[i] * Float(48).squareRoot(), accuracy: 1e-4) }
    }

    /// TPP needs gradients to flow through a frozen module to its input.
    func testGradientFlowsThroughFrozenWeights() {
        let frozen = randomTensor([4, 3], seed: 51, requiresGrad: false)
        frozen.isParameter = true
        let x = randomTensor([2, 3], seed: 52)
        let before = frozen.values
        x.linear(weight: frozen, bias: nil).sum().backward()
        XCTAssertNil(frozen.grad)
        XCTAssertNotNil(x.grad)
        XCTAssertTrue(x.grad!.values.contains { $0 != 0 })
        XCTAssertEqual(frozen.values, before)
    }

    func testNoGradScopeRecordsNothing() {
        let x = randomTensor([3], seed: 53)
        let y = withoutGrad { x * 2 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue((x * 2).requiresGrad)
    }

    func testSeededRandomIsReproducible() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        XCTAssertEqual((0..<100).map { _ in a.next() }, (0..<100).map { _ in b.next() })
        var s1 = RandomGenerator(seed: 1, stream: 3, 4), s2 = RandomGenerator(seed: 1, stream: 4, 3)
        XCTAssertNotEqual(s1.next(), s2.next())
    }

    func testBroadcastAndInferredReshapeShapes() {
        XCTAssertEqual(broadcastShape([3, 1, 5], [4, 1]), [3, 4, 5])
        XCTAssertEqual(Tensor(zeros: [2, 3]).reshaped([-1]).shape, [6])
    }
}
