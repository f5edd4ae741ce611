@testable import Tensor
import TestSupport
import XCTest

/// One finite-difference check per op, on odd shapes.
final class GradientTests: XCTestCase {
    func testArithmeticWithBroadcasting() {
        let a = randomTensor([3, 5, 7], seed: 1), b = randomTensor([5, 1], seed: 2)
        let c = randomTensor([3, 5, 7], seed: 3, lo: 0.5, hi: 2), d = randomTensor([1, 1, 7], seed: 4, lo: 0.5, hi: 2)
        assertGradientsMatch([a, b]) { $0[0] + $0[1] }
        assertGradientsMatch([a, b]) { $0[0] - $0[1] }
        assertGradientsMatch([a, b]) { $0[0] * $0[1] }
        assertGradientsMatch([a, d]) { $0[0] / $0[1] }
        assertGradientsMatch([c, d]) { $0[0] / $0[1] }
        assertGradientsMatch([a]) { ($0[0] * 3 + 1) - 2 * $0[0] / 4 }
        assertGradientsMatch([a]) { -$0[0] }
    }

    func testUnaryMaps() {
        let x = randomTensor([4, 9], seed: 5)
        let pos = randomTensor([4, 9], seed: 6, lo: 0.3, hi: 2)
        assertGradientsMatch([x]) { $0[0].exp() }
        assertGradientsMatch([pos]) { $0[0].log() }
        assertGradientsMatch([pos]) { $0[0].sqrt() }
        assertGradientsMatch([x]) { $0[0].squared() }
        assertGradientsMatch([pos]) { $0[0].pow(1.7) }
        assertGradientsMatch([x]) { $0[0].tanh() }
        assertGradientsMatch([x]) { $0[0].sigmoid() }
        assertGradientsMatch([pos]) { $0[0].abs() }
    }

    func testActivations() {
        // Keep ReLU inputs away from the kink so central differences are valid.
        let x = randomTensor([5, 11], seed: 7).map("shift", { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }, { _, _ in 1 }).detached()
        x.requiresGrad = true
        assertGradientsMatch([x]) { $0[0].relu() }
        assertGradientsMatch([randomTensor([5, 11], seed: 8, lo: -3, hi: 3)]) { $0[0].gelu() }
    }

    func testReductions() {
        let x = randomTensor([3, 4, 5], seed: 9)
        assertGradientsMatch([x]) { $0[0].sum() }
        assertGradientsMatch([x]) { $0[0].mean() }
        assertGradientsMatch([x]) { $0[0].sum(axis: 1) }
        assertGradientsMatch([x]) { $0[0].sum(axis: -1, keepDims: true) }
        assertGradientsMatch([x]) { $0[0].sum(axes: [0, 2]) }
        assertGradientsMatch([x]) { $0[0].mean(axes: [1, 2], keepDims: true) }
        assertGradientsMatch([x]) { $0[0].max(axis: 1) }
        assertGradientsMatch([x]) { $0[0].max(axis: 2, keepDims: true) }
    }

    func testShapeOps() {
        let x = randomTensor([2, 3, 4, 5], seed: 10), y = randomTensor([2, 2, 4, 5], seed: 11)
        assertGradientsMatch([x]) { $0[0].reshaped([6, -1]) }
        assertGradientsMatch([x]) { $0[0].permuted([2, 0, 3, 1]) }
        assertGradientsMatch([x]) { $0[0].transposed(1, 3) }
        assertGradientsMatch([x]) { $0[0].sliced(axis: 1, 1..<3) }
        assertGradientsMatch([x]) { $0[0].sliced(axis: -1, 0..<2) }
        assertGradientsMatch([x, y]) { Tensor.concat([$0[0], $0[1]], axis: 1) }
        assertGradientsMatch([x]) { $0[0].padded2D(top: 1, bottom: 2, left: 0, right: 3) }
        assertGradientsMatch([x]) { $0[0].flattened(from: 1) }
        // The q/k/v split: parts 1 and 3 weighted differently, so a part's gradient in another's columns shows.
        let qkv = randomTensor([2, 3, 12], seed: 16)
        assertGradientsMatch([qkv]) { let p = $0[0].splitHeads(parts: 3, heads: 2); return p[0] + p[2] * 3 }
    }

    func testMatmul() {
        let a = randomTensor([2, 3, 5], seed: 12), b = randomTensor([2, 5, 4], seed: 13)
        let bt = randomTensor([2, 4, 5], seed: 14), at = randomTensor([2, 5, 3], seed: 15)
        let shared = randomTensor([5, 4], seed: 16), sharedT = randomTensor([4, 5], seed: 17)
        assertGradientsMatch([a, b]) { $0[0].matmul($0[1]) }
        assertGradientsMatch([a, bt]) { $0[0].matmul($0[1], transposeB: true) }
        assertGradientsMatch([at, b]) { $0[0].matmul($0[1], transposeA: true) }
        assertGradientsMatch([at, bt]) { $0[0].matmul($0[1], transposeA: true, transposeB: true) }
        assertGradientsMatch([a, shared]) { $0[0].matmul($0[1]) }
        assertGradientsMatch([a, sharedT]) { $0[0].matmul($0[1], transposeB: true) }
        assertGradientsMatch([at, shared]) { $0[0].matmul($0[1], transposeA: true) }
    }

    func testFusedAttention() {
        // Packed q, k, v with a relative-position bias and two windows of a shifted-window
        // mask (entries 0, 2 take window 0; 1, 3 window 1).
        let qkv = randomTensor([4, 5, 12], seed: 21), bias = randomTensor([2, 5, 5], seed: 22)
        let mask = Tensor(shape: [2, 5, 5], values: (0..<50).map { $0 % 7 == 3 ? -100 : 0 })
        assertGradientsMatch([qkv, bias]) { $0[0].packedAttention(heads: 2, scale: 0.5, bias: $0[1], mask: mask) }
        assertGradientsMatch([qkv]) { $0[0].packedAttention(heads: 1, scale: 0.3) }
        // Separate projections, more keys than queries, three heads.
        let q = randomTensor([2, 3, 9], seed: 23), k = randomTensor([2, 7, 9], seed: 24), v = randomTensor([2, 7, 9], seed: 25)
        assertGradientsMatch([q, k, v]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], heads: 3, scale: 1.5) }
    }

    func testLinear() {
        let x = randomTensor([2, 3, 7], seed: 18), w = randomTensor([5, 7], seed: 19), b = randomTensor([5], seed: 20)
        assertGradientsMatch([x, w, b]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x, w]) { $0[0].linear(weight: $0[1], bias: nil) }
    }

    /// On both backends: the native kernels, and oneDNN (ConvBackendTests checks its own cases).
    func testConv2d() {
        for backend in ConvBackend.allCases { ConvBackend.using(backend) { conv2dGradients() } }
    }

    private func conv2dGradients() {
        // Three images: with two loop threads the chunks are uneven (2 + 1), so the
        // per-chunk weight-gradient buffers are checked too.
        let x = randomTensor([3, 4, 7, 6], seed: 21)
        let w = randomTensor([6, 4, 3, 3], seed: 22), b = randomTensor([6], seed: 23)
        assertGradientsMatch([x, w, b]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 1, padding: 1) }
        // The direct 3x3 kernel, forced on this small plane (odd width, 6 output channels:
        // a partial block of its 8-channel register tile).
        assertGradientsMatch([x, w, b]) {
            $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 1, padding: 1, groups: 1, algorithm: .direct3x3)
        }
        assertGradientsMatch([x, w, b]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1) }
        let w1 = randomTensor([5, 4, 1, 1], seed: 24)
        assertGradientsMatch([x, w1]) { $0[0].conv2d(weight: $0[1], bias: nil) }
        let wg = randomTensor([6, 2, 3, 2], seed: 25)
        assertGradientsMatch([x, wg]) { $0[0].conv2d(weight: $0[1], bias: nil, stride: 2, padding: 1, groups: 2) }
        let wd = randomTensor([4, 1, 3, 3], seed: 26), bd = randomTensor([4], seed: 27)
        assertGradientsMatch([x, wd, bd]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 1, padding: 1, groups: 4) }
        assertGradientsMatch([x, wd, bd]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1, groups: 4) }
        let w7 = randomTensor([3, 4, 4, 4], seed: 28)
        assertGradientsMatch([x, w7]) { $0[0].conv2d(weight: $0[1], bias: nil, stride: 4, padding: 0) }
        // Channels-last depthwise (x as [N, H, W, C] = [3, 7, 6, 4]), 3x3 and 5x5 kernels.
        let xl = randomTensor([3, 7, 6, 4], seed: 29), wd5 = randomTensor([4, 1, 5, 5], seed: 30)
        assertGradientsMatch([xl, wd, bd]) { $0[0].depthwiseConv2dChannelsLast(weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([xl, wd5]) { $0[0].depthwiseConv2dChannelsLast(weight: $0[1], bias: nil) }
    }

    func testPooling() {
        // Distinct values so the max is unique under perturbation.
        var rng = RandomGenerator(seed: 29)
        var vals = (0..<(2 * 3 * 7 * 6)).map { Float($0) * 0.01 }
        rng.shuffle(&vals)
        let x = Tensor(shape: [2, 3, 7, 6], values: vals, requiresGrad: true)
        assertGradientsMatch([x], eps: 1e-3) { $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) }
        assertGradientsMatch([x], eps: 1e-3) { $0[0].maxPool2d(kernel: 2) }
        let y = randomTensor([2, 3, 7, 6], seed: 30)
        assertGradientsMatch([y]) { $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1) }
        assertGradientsMatch([y]) { $0[0].adaptiveAvgPool2d(3, 2) }
        assertGradientsMatch([y]) { $0[0].adaptiveAvgPool2d(1, 1) }
    }

    func testBatchNorm() {
        let x = randomTensor([3, 4, 5, 3], seed: 31), w = randomTensor([4], seed: 32), b = randomTensor([4], seed: 33)
        let rm = Tensor(zeros: [4]), rv = Tensor(shape: [4], repeating: 1)
        assertGradientsMatch([x, w, b], eps: 1e-2, atol: 5e-3, rtol: 3e-2) {
            $0[0].batchNorm(weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: true)
        }
        let rm2 = randomTensor([4], seed: 34, requiresGrad: false), rv2 = randomTensor([4], seed: 35, lo: 0.5, hi: 2, requiresGrad: false)
        assertGradientsMatch([x, w, b]) {
            $0[0].batchNorm(weight: $0[1], bias: $0[2], runningMean: rm2, runningVar: rv2, training: false)
        }
        let x2 = randomTensor([6, 5], seed: 36)
        assertGradientsMatch([x2], atol: 5e-3, rtol: 3e-2) {
            $0[0].batchNorm(weight: nil, bias: nil, runningMean: Tensor(zeros: [5]), runningVar: Tensor(shape: [5], repeating: 1), training: true)
        }
    }

    func testLayerNorm() {
        let x = randomTensor([3, 4, 9], seed: 37), w = randomTensor([9], seed: 38), b = randomTensor([9], seed: 39)
        assertGradientsMatch([x, w, b], atol: 5e-3, rtol: 3e-2) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x], atol: 5e-3, rtol: 3e-2) { $0[0].layerNorm(weight: nil, bias: nil) }
    }

    func testL2Normalize() {
        let x = randomTensor([2, 5, 3, 4], seed: 40)
        assertGradientsMatch([x]) { $0[0].l2Normalized(axis: 1) }
        assertGradientsMatch([x]) { $0[0].l2Normalized(axis: -1) }
    }

    func testSoftmaxFamily() {
        let x = randomTensor([4, 7], seed: 41, lo: -3, hi: 3)
        assertGradientsMatch([x]) { $0[0].softmax() }
        assertGradientsMatch([x]) { $0[0].logSoftmax() }
        assertGradientsMatch([x]) { $0[0].crossEntropy(labels: [0, 6, 3, 3]) }
        assertGradientsMatch([x]) { $0[0].crossEntropy(labels: [1, 2, 5, 0], labelSmoothing: 0.1) }
        let q = randomTensor([4, 7], seed: 42, lo: -1, hi: 1).softmax().detached()
        q.requiresGrad = true
        assertGradientsMatch([x, q]) { $0[0].crossEntropy(softTargets: $0[1]) }
    }

    func testDropoutAndDropPath() {
        let x = randomTensor([6, 5], seed: 43)
        assertGradientsMatch([x]) { t in var rng = RandomGenerator(seed: 1); return t[0].dropout(0.3, training: true, rng: &rng) }
        assertGradientsMatch([x]) { t in var rng = RandomGenerator(seed: 2); return t[0].dropPath(0.5, training: true, rng: &rng) }
    }

    func testEmbedding() {
        let w = randomTensor([6, 4], seed: 44)
        assertGradientsMatch([w]) { $0[0].embedding([5, 0, 5, 2]) }
    }

    func testDCT() {
        let x = randomTensor([2, 3, 5, 4], seed: 45)
        assertGradientsMatch([x]) { $0[0].dct2d(method: .matrix) }
        assertGradientsMatch([x]) { $0[0].idct2d(method: .matrix) }
        assertGradientsMatch([x]) { $0[0].dct2d(method: .fftw) }
        assertGradientsMatch([x]) { $0[0].idct2d(method: .fftw) }
    }
}
