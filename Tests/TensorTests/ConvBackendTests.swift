@testable import Tensor
import TestSupport
import XCTest

/// oneDNN against the native kernels, forward and every gradient, on the shape classes
/// ConvBackend decides on; its determinism; the policy's classification.
final class ConvBackendTests: XCTestCase {
    /// (x shape, weight shape, stride, padding, groups, bias, channels-last). Batches of 3 and
    /// 5: with two loop threads the chunks are uneven, so both chunk plans and the weight
    /// gradient's chunk order are exercised.
    static let cases: [(x: [Int], w: [Int], stride: Int, padding: Int, groups: Int, bias: Bool, channelsLast: Bool)] = [
        ([3, 16, 12, 12], [16, 16, 3, 3], 1, 1, 1, true, false),   // direct3x3 class
        ([3, 1, 9, 11], [8, 1, 3, 3], 1, 1, 1, false, false),      // stem: one input channel
        ([3, 24, 5, 5], [72, 24, 3, 3], 1, 1, 1, true, false),     // gemm3x3 (cout > 64, small plane)
        ([5, 12, 8, 8], [20, 12, 1, 1], 1, 0, 1, false, false),    // pointwise
        ([3, 8, 9, 9], [16, 8, 3, 3], 2, 1, 1, true, false),       // strided, odd plane
        ([3, 8, 8, 8], [16, 8, 1, 1], 2, 0, 1, false, false),      // pointwiseStrided (a shortcut)
        ([3, 2, 12, 12], [12, 2, 4, 4], 4, 0, 1, true, false),     // stem (patches)
        ([3, 6, 8, 8], [12, 6, 2, 2], 2, 0, 1, false, false),      // patchify
        ([3, 8, 7, 6], [12, 2, 3, 2], 2, 1, 4, false, false),      // grouped, non-square kernel
        ([3, 12, 9, 9], [12, 1, 3, 3], 1, 1, 12, true, false),     // depthwise3x3
        ([3, 12, 9, 9], [12, 1, 3, 3], 2, 1, 12, false, false),    // depthwise3x3, strided
        ([3, 10, 8, 8], [10, 1, 7, 7], 1, 3, 10, true, false),     // depthwiseLarge
        ([3, 5, 6, 4], [4, 5, 5, 5], 1, 2, 1, false, false),       // 5x5, padding 2 (class other)
        ([3, 8, 8, 20], [20, 1, 3, 3], 1, 1, 20, true, true),      // channels-last depthwise, 20 channels
        ([3, 5, 9, 16], [16, 1, 7, 7], 1, 3, 16, false, true),     // channels-last depthwise 7x7
    ]

    /// Output and gradients of one case on one backend (gradients of sum(y * r)).
    private func run(_ c: (x: [Int], w: [Int], stride: Int, padding: Int, groups: Int, bias: Bool, channelsLast: Bool),
                     on backend: ConvBackend, backwardTwice: Bool = false) -> [[Float]] {
        let seed = UInt64(c.x.reduce(0, +) * 31 + c.w.reduce(0, +))
        let x = randomTensor(c.x, seed: seed), w = randomTensor(c.w, seed: seed + 1)
        let b = c.bias ? randomTensor([c.w[0]], seed: seed + 2) : nil
        return ConvBackend.using(backend) {
            let y = c.channelsLast ? x.depthwiseConv2dChannelsLast(weight: w, bias: b)
                : x.conv2d(weight: w, bias: b, stride: c.stride, padding: c.padding, groups: c.groups)
            let r = randomTensor(y.shape, seed: seed + 3, requiresGrad: false)
            for _ in 0..<(backwardTwice ? 2 : 1) {
                let y = c.channelsLast ? x.depthwiseConv2dChannelsLast(weight: w, bias: b)
                    : x.conv2d(weight: w, bias: b, stride: c.stride, padding: c.padding, groups: c.groups)
                (y * r).sum().backward()
            }
            return [y.values, x.grad!.values, w.grad!.values] + (b.map { [$0.grad!.values] } ?? [])
        }
    }

    func testDNNLMatchesNative() {
        for c in Self.cases {
            let native = run(c, on: .native), dnnl = run(c, on: .dnnl)
            for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].prefix(native.count).enumerated() {
                assertRelativeError(dnnl[i], native[i], below: 1e-5, "\(what), x \(c.x), w \(c.w), stride \(c.stride), groups \(c.groups)")
            }
        }
    }

    /// A second backward adds into the gradients the first left (oneDNN's primitives overwrite:
    /// the engine adds), and two runs agree to the bit (oneDNN on one thread per chunk, chunk
    /// partials added in order).
    func testDNNLAccumulatesAndRepeats() {
        for c in Self.cases {
            let once = run(c, on: .dnnl), twice = run(c, on: .dnnl, backwardTwice: true), again = run(c, on: .dnnl)
            XCTAssertEqual(once, again, "x \(c.x), w \(c.w): two runs differ")
            // (g + p0) + p1 rounds unlike 2 (p0 + p1): equal up to float32 rounding.
            for i in 1..<once.count {
                assertRelativeError(twice[i], once[i].map { $0 + $0 }, below: 1e-6, "x \(c.x), w \(c.w): gradient \(i) accumulated")
            }
        }
    }

    /// A gradient check of oneDNN's path on every case (the native one has its own in GradientTests).
    func testDNNLGradients() {
        for c in Self.cases {
            let seed = UInt64(c.x.reduce(0, +) + 5)
            let x = randomTensor(c.x, seed: seed), w = randomTensor(c.w, seed: seed + 1), b = randomTensor([c.w[0]], seed: seed + 2)
            ConvBackend.using(.dnnl) {
                assertGradientsMatch(c.bias ? [x, w, b] : [x, w]) { t in
                    c.channelsLast ? t[0].depthwiseConv2dChannelsLast(weight: t[1], bias: c.bias ? t[2] : nil)
                        : t[0].conv2d(weight: t[1], bias: c.bias ? t[2] : nil, stride: c.stride, padding: c.padding, groups: c.groups)
                }
            }
        }
    }

    /// Frozen weights (a teacher under TPP) get no gradient; the input still does.
    func testDNNLFrozenWeights() {
        let x = randomTensor([2, 4, 6, 6], seed: 50), w = randomTensor([6, 4, 3, 3], seed: 51, requiresGrad: false)
        ConvBackend.using(.dnnl) { x.conv2d(weight: w, bias: nil, stride: 1, padding: 1).sum().backward() }
        XCTAssertNil(w.grad)
        XCTAssertNotNil(x.grad)
    }

    func testShapeClasses() {
        func geo(_ cin: Int, _ cout: Int, _ hw: Int, _ k: Int, _ s: Int, _ p: Int, _ g: Int) -> ConvGeometry {
            let o = (hw + 2 * p - k) / s + 1
            return ConvGeometry(n: 8, cin: cin, h: hw, w: hw, cout: cout, kh: k, kw: k, stride: s, padding: p, groups: g, ho: o, wo: o)
        }
        let expected: [(ConvGeometry, Bool, ConvBackend.ShapeClass)] = [
            (geo(1, 16, 32, 3, 1, 1, 1), false, .stem),
            (geo(3, 64, 224, 7, 2, 3, 1), false, .stem),
            (geo(1, 128, 32, 4, 4, 0, 1), false, .stem),
            (geo(64, 64, 16, 3, 1, 1, 1), false, directConvEnabled ? .direct3x3 : .gemm3x3),
            (geo(128, 128, 4, 3, 1, 1, 1), false, .gemm3x3),
            (geo(64, 64, 16, 1, 1, 0, 1), false, .pointwise),
            (geo(32, 64, 16, 3, 2, 1, 1), false, .strided),
            (geo(16, 64, 32, 7, 2, 3, 1), false, .strided),
            (geo(32, 64, 16, 1, 2, 0, 1), false, .pointwiseStrided),
            (geo(16, 128, 32, 4, 4, 0, 1), false, .patchify),
            (geo(64, 64, 16, 3, 1, 1, 4), false, .grouped),
            (geo(64, 64, 16, 3, 2, 1, 64), false, .depthwise3x3),
            (geo(64, 64, 16, 7, 1, 3, 64), false, .depthwiseLarge),
            (geo(64, 64, 16, 3, 1, 1, 64), true, .depthwiseChannelsLast),
            (geo(8, 8, 16, 5, 1, 2, 1), false, .other),
        ]
        for (g, channelsLast, shapeClass) in expected {
            XCTAssertEqual(ConvBackend.ShapeClass(g, channelsLast: channelsLast), shapeClass, "\(g)")
        }
    }
}
