import CNative
@testable import Tensor
import XCTest

/// The per-instruction-set kernel variants (CNative/isa_variants.h) and the choice among them.
final class KernelISATests: XCTestCase {
    // MARK: choosing a variant

    func testUnsetOrEmptyPicksTheBestSupported() {
        XCTAssertEqual(KernelISA.choose(supported: ["avx512", "avx2", "baseline"], requested: nil), .success("avx512"))
        XCTAssertEqual(KernelISA.choose(supported: ["avx2", "baseline"], requested: nil), .success("avx2"))
        XCTAssertEqual(KernelISA.choose(supported: ["avx2", "baseline"], requested: ""), .success("avx2"))
        XCTAssertEqual(KernelISA.choose(supported: ["baseline"], requested: nil), .success("baseline"))
        // Baseline runs everywhere, listed or not.
        XCTAssertEqual(KernelISA.choose(supported: [], requested: "baseline"), .success("baseline"))
    }

    func testSCALEKD_ISAPicksASupportedVariant() {
        let all = ["avx512", "avx2", "baseline"]
        for v in all { XCTAssertEqual(KernelISA.choose(supported: all, requested: v), .success(v)) }
        XCTAssertEqual(KernelISA.choose(supported: ["avx2", "baseline"], requested: "baseline"), .success("baseline"))
    }

    func testUnsupportedVariantIsAnErrorNamingWhatTheCPURuns() throws {
        guard case .failure(let e) = KernelISA.choose(supported: ["avx2", "baseline"], requested: "avx512") else {
            return XCTFail("avx512 on an AVX2-only CPU was accepted")
        }
        XCTAssertTrue(e.description.contains("SCALEKD_ISA=avx512"), e.description)
        XCTAssertTrue(e.description.contains("it runs avx2, baseline"), e.description)
        guard case .failure(let e2) = KernelISA.choose(supported: ["baseline"], requested: "avx2") else {
            return XCTFail("avx2 on a baseline-only CPU was accepted")
        }
        XCTAssertTrue(e2.description.contains("SCALEKD_ISA=avx2") && e2.description.contains("it runs baseline."), e2.description)
    }

    func testUnknownValueIsAnErrorListingTheValidOnes() {
        for bad in ["AVX2", "avx512f", "sse2", "default", " avx2"] {
            guard case .failure(let e) = KernelISA.choose(supported: ["avx512", "avx2", "baseline"], requested: bad) else {
                XCTFail("'\(bad)' was accepted"); continue
            }
            XCTAssertTrue(e.description.contains("SCALEKD_ISA=\(bad) is not a kernel variant"), e.description)
            XCTAssertTrue(e.description.contains("avx512, avx2 or baseline"), e.description)
        }
    }

    /// The process's choice is the pure rule applied to this CPU and this environment.
    func testProcessChoiceFollowsTheRule() {
        let requested = ProcessInfo.processInfo.environment["SCALEKD_ISA"]
        XCTAssertEqual(KernelISA.choose(supported: KernelISA.supported, requested: requested), .success(KernelISA.info.name))
        XCTAssertEqual(KernelISA.info.reason, (requested ?? "").isEmpty ? "the best this CPU runs" : "SCALEKD_ISA")
        XCTAssertEqual(KernelISA.supported.last, "baseline")
        #if arch(x86_64)
        XCTAssertEqual(KernelISA.supported.contains("avx2"), CPU.vectorExtensions.contains("avx2"))
        XCTAssertEqual(KernelISA.supported.contains("avx512"), CPU.vectorExtensions.contains("avx512f"))
        #else
        XCTAssertEqual(KernelISA.supported, ["baseline"])
        #endif
    }

    // MARK: every variant against the baseline

    private var allocations: [UnsafeMutableRawPointer] = []
    override func tearDown() {
        allocations.forEach { $0.deallocate() }
        allocations = []
    }

    /// n floats, uniform in [offset - scale, offset + scale], deterministic in seed.
    private func floats(_ n: Int, seed: UInt64, scale: Float = 1, offset: Float = 0) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        allocations.append(UnsafeMutableRawPointer(p))
        var s = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        for i in 0..<n {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            p[i] = offset + scale * (Float(s >> 40) / Float(1 << 24) * 2 - 1)
        }
        return p
    }

    private var tested: Set<String> = []

    /// Runs `kernel` in the baseline and in every other variant this CPU runs, each on
    /// outputs of the given sizes starting from the same random values (the accumulating
    /// kernels add to them), and compares each output with the baseline's elementwise.
    private func compare(_ name: String, outputs sizes: [Int], atol: Float = 2e-5, rtol: Float = 2e-5, _ label: String = "",
                         _ kernel: (skd_kernel_table, [UnsafeMutablePointer<Float>]) -> Void) {
        tested.insert(name)
        func run(_ isa: String) -> [[Float]] {
            let outs = sizes.enumerated().map { floats($0.element, seed: 1000 + UInt64($0.offset)) }
            kernel(skd_isa_kernels(Int32(KernelISA.index(isa)))!.pointee, outs)
            return zip(outs, sizes).map { Array(UnsafeBufferPointer(start: $0.0, count: $0.1)) }
        }
        let base = run("baseline")
        let start = sizes.enumerated().map { Array(UnsafeBufferPointer(start: floats($0.element, seed: 1000 + UInt64($0.offset)), count: $0.element)) }
        XCTAssertNotEqual(base, start, "\(name) \(label): the baseline left its outputs untouched")
        for isa in KernelISA.supported where isa != "baseline" {
            for (o, (got, want)) in zip(run(isa), base).enumerated() {
                var worst: Float = 0, at = -1
                for i in 0..<want.count where !(abs(got[i] - want[i]) <= atol + rtol * abs(want[i])) {
                    if at < 0 || abs(got[i] - want[i]) > worst { worst = abs(got[i] - want[i]); at = i }
                }
                XCTAssertEqual(at, -1, "\(name) \(label) output \(o): \(isa) differs from baseline by \(worst) at \(at)")
            }
        }
    }

    func testEveryVariantMatchesBaseline() throws {
        if KernelISA.supported == ["baseline"] { throw XCTSkip("this CPU runs the baseline variant only") }
        elementwiseAndRows()
        convolutions()
        // Every dispatched kernel is covered (a new one needs a case here).
        let members = Set(Mirror(reflecting: skd_kernel_table()).children.compactMap(\.label))
        XCTAssertEqual(members.count, 27)
        XCTAssertEqual(members.subtracting(tested), [], "kernels without a variant comparison")
    }

    private func elementwiseAndRows() {
        let n = 1003
        let x = floats(n, seed: 1, scale: 4), g = floats(n, seed: 2), b = floats(n, seed: 3, scale: 0.5, offset: 1.5)
        compare("skd_gelu_forward", outputs: [n]) { t, o in t.skd_gelu_forward!(x, o[0], n) }
        compare("skd_gelu_backward", outputs: [n]) { t, o in t.skd_gelu_backward!(x, g, o[0], n) }
        compare("skd_relu_forward", outputs: [n]) { t, o in t.skd_relu_forward!(x, o[0], n) }
        compare("skd_relu_backward", outputs: [n]) { t, o in t.skd_relu_backward!(x, g, o[0], n) }
        for op in Int32(0)...3 {
            for (sa, sb) in [(1, 1), (1, 0), (0, 1), (2, 1)] {
                compare("skd_binary", outputs: [n / 2], "op \(op) strides \(sa) \(sb)") { t, o in t.skd_binary!(op, x, sa, b, sb, o[0], n / 2) }
            }
        }
        compare("skd_exp_inplace", outputs: [n]) { t, o in
            for i in 0..<n { o[0][i] *= 20 }
            t.skd_exp_inplace!(o[0], n)
        }

        let rows = 7, d = 67
        let w = floats(d, seed: 4, offset: 1), bias = floats(d, seed: 5)
        let stats = floats(2 * rows, seed: 0), y = floats(rows * d, seed: 0)
        skd_layernorm_forward_rows(x, w, bias, y, stats, rows, d, 1e-5)
        for (label, wp, bp) in [("affine", Optional(w), Optional(bias)), ("weight only", w, nil), ("plain", nil, nil)] {
            compare("skd_layernorm_forward_rows", outputs: [rows * d, 2 * rows], label) { t, o in
                t.skd_layernorm_forward_rows!(x, wp.map { UnsafePointer($0) }, bp.map { UnsafePointer($0) }, o[0], o[1], rows, d, 1e-5)
            }
        }
        compare("skd_layernorm_backward_rows", outputs: [rows * d]) { t, o in t.skd_layernorm_backward_rows!(x, g, w, stats, o[0], rows, d) }
        compare("skd_column_sums_add", outputs: [d]) { t, o in t.skd_column_sums_add!(x, rows, d, o[0]) }
        compare("skd_layernorm_param_grads_rows", outputs: [d, d]) { t, o in t.skd_layernorm_param_grads_rows!(x, g, stats, rows, d, o[0], o[1]) }

        // Batch-norm sums in double, compared as floats.
        let (bn, c, inner) = (3, 4, 83)
        compare("skd_bn_channel_moments", outputs: [2]) { t, o in
            var mean = 0.0, variance = 0.0
            t.skd_bn_channel_moments!(x, bn, c, inner, 2, &mean, &variance)
            o[0][0] = Float(mean); o[0][1] = Float(variance)
        }
        compare("skd_bn_channel_grad_sums", outputs: [2]) { t, o in
            var sumG = 0.0, sumGX = 0.0
            t.skd_bn_channel_grad_sums!(x, g, bn, c, inner, 1, 0.1, 1.3, &sumG, &sumGX)
            o[0][0] = Float(sumG); o[0][1] = Float(sumGX)
        }

        let sn = 61
        let probs = floats(rows * sn, seed: 0)
        skd_softmax_rows(x, probs, rows, sn)
        compare("skd_softmax_rows", outputs: [rows * sn]) { t, o in t.skd_softmax_rows!(x, o[0], rows, sn) }
        compare("skd_softmax_backward_rows", outputs: [rows * sn]) { t, o in t.skd_softmax_backward_rows!(probs, g, o[0], rows, sn) }

        // Attention: 3 entries of 2 heads, 5 queries, 7 keys, d 6, packed rows wider than the
        // heads (a stride of 15), bias and two windows of mask; then the backward from p.
        let (ab, ah, lq, lk, ad) = (3, 2, 5, 7, 6)
        var geo = skd_attention_geometry(heads: ah, lq: lq, lk: lk, d: ad, q_batch: lq * 15, q_row: 15, k_batch: lk * 15, k_row: 15,
                                         v_batch: lk * 15, v_row: 15, o_batch: lq * ah * ad, o_row: ah * ad, windows: 2, scale: 0.4)
        let aq = floats(ab * lq * 15, seed: 30), ak = floats(ab * lk * 15, seed: 31), av = floats(ab * lk * 15, seed: 32)
        let abias = floats(ah * lq * lk, seed: 33), amask = floats(2 * lq * lk, seed: 34, scale: 3)
        let ago = floats(ab * lq * ah * ad, seed: 35), ap = floats(ab * ah * lq * lk, seed: 0), ao = floats(ab * lq * ah * ad, seed: 0)
        skd_attention_forward(&geo, aq, ak, av, abias, amask, ao, ap, 0, ab)
        compare("skd_attention_forward", outputs: [ab * lq * ah * ad, ab * ah * lq * lk]) { t, o in
            t.skd_attention_forward!(&geo, aq, ak, av, abias, amask, o[0], o[1], 0, ab)
        }
        compare("skd_attention_backward", outputs: [ab * lq * 15, ab * lk * 15, ab * lk * 15, ah * lq * lk]) { t, o in
            t.skd_attention_backward!(&geo, aq, ak, av, ap, ago, o[0], o[1], o[2], o[3], 0, ab)
        }

        let (tr, tc) = (21, 45)
        for (r0, r1) in [(0, 21), (3, 20)] {
            compare("skd_transpose_block", outputs: [tr * tc], "rows \(r0)..<\(r1)") { t, o in t.skd_transpose_block!(x, o[0], tr, tc, r0, r1) }
        }
    }

    private func convolutions() {
        // im2col: the small-plane gather path (wo < 16) and the row path, plain and strided.
        for (c, h, w, k, s, p) in [(3, 9, 10, 3, 1, 1), (2, 20, 21, 3, 1, 1), (3, 17, 18, 3, 2, 1), (2, 12, 12, 1, 1, 0)] {
            let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
            let x = floats(c * h * w, seed: 10), col = floats(c * k * k * ho * wo, seed: 11)
            let (ci, hi, wi, ki, si, pi, hoi, woi) = (Int32(c), Int32(h), Int32(w), Int32(k), Int32(s), Int32(p), Int32(ho), Int32(wo))
            compare("skd_im2col_image", outputs: [c * k * k * ho * wo], "\(h)x\(w) stride \(s)") { t, o in
                t.skd_im2col_image!(x, ci, hi, wi, ki, ki, si, pi, hoi, woi, o[0])
            }
            compare("skd_col2im_add_image", outputs: [c * h * w], "\(h)x\(w) stride \(s)") { t, o in
                t.skd_col2im_add_image!(col, ci, hi, wi, ki, ki, si, pi, hoi, woi, o[0])
            }
        }

        // Direct 3x3: partial channel blocks (11 = 8 + 3) and an odd plane.
        let (cin, cout, h, w) = (5, 11, 9, 13)
        let ps = skd_conv3x3_plane_stride(Int32(h), Int32(w))
        let x = floats(cin * h * w, seed: 20), kern = floats(cout * cin * 9, seed: 21), bias = floats(cout, seed: 22)
        let gOut = floats(cout * h * w, seed: 23)
        let padded = floats(cin * ps, seed: 0), paddedG = floats(cout * ps, seed: 0)
        let packed = floats(skd_conv3x3_packed_count(Int32(cout), Int32(cin)), seed: 0)
        skd_conv3x3_pad_image(x, Int32(cin), Int32(h), Int32(w), padded)
        skd_conv3x3_pad_image(gOut, Int32(cout), Int32(h), Int32(w), paddedG)
        skd_conv3x3_pack_weights(kern, Int32(cout), Int32(cin), 0, packed)
        for accumulate in Int32(0)...1 {
            compare("skd_conv3x3_image", outputs: [cout * h * w], atol: 1e-4, "accumulate \(accumulate)") { t, o in
                t.skd_conv3x3_image!(padded, Int32(cin), Int32(h), Int32(w), packed, Int32(cout), bias, accumulate, o[0])
            }
        }
        compare("skd_conv3x3_weight_grad_image", outputs: [cout * cin * 9], atol: 1e-4) { t, o in
            t.skd_conv3x3_weight_grad_image!(padded, Int32(cin), paddedG, Int32(cout), Int32(h), Int32(w), o[0])
        }

        // Channels-last depthwise: ConvNeXt's 7x7 and a 3x3, channel counts off the vector width.
        for (dh, dw, dc, dk) in [(6, 7, 37, 7), (5, 5, 19, 3)] {
            let xs = floats(dh * dw * dc, seed: 30), wt = floats(dk * dk * dc, seed: 31), bs = floats(dc, seed: 32)
            let gs = floats(dh * dw * dc, seed: 33)
            let (hi, wi, ci, ki) = (Int32(dh), Int32(dw), Int32(dc), Int32(dk))
            compare("skd_dwconv_nhwc_forward", outputs: [dh * dw * dc], "k \(dk)") { t, o in t.skd_dwconv_nhwc_forward!(xs, wt, bs, o[0], hi, wi, ci, ki) }
            compare("skd_dwconv_nhwc_backward_input", outputs: [dh * dw * dc], "k \(dk)") { t, o in
                t.skd_dwconv_nhwc_backward_input!(gs, wt, o[0], hi, wi, ci, ki)
            }
            compare("skd_dwconv_nhwc_backward_weight", outputs: [dk * dk * dc], "k \(dk)") { t, o in
                t.skd_dwconv_nhwc_backward_weight!(xs, gs, o[0], hi, wi, ci, ki)
            }
        }

        // Depthwise per plane, stride 1 and 2.
        for (ph, pw, k, s, p) in [(11, 13, 3, 1, 1), (12, 19, 3, 2, 1), (9, 9, 5, 1, 2)] {
            let ho = (ph + 2 * p - k) / s + 1, wo = (pw + 2 * p - k) / s + 1
            let xs = floats(ph * pw, seed: 40), ks = floats(k * k, seed: 41), gs = floats(ho * wo, seed: 42)
            let scratch = floats((ph + 2 * p) * (pw + 2 * p), seed: 0)
            let a = (Int32(ph), Int32(pw), Int32(k), Int32(s), Int32(p), Int32(ho), Int32(wo))
            compare("skd_dwconv_forward_plane", outputs: [ho * wo], "\(ph)x\(pw) k \(k) stride \(s)") { t, o in
                t.skd_dwconv_forward_plane!(xs, ks, 0.25, o[0], a.0, a.1, a.2, a.2, a.3, a.4, a.5, a.6, scratch)
            }
            compare("skd_dwconv_backward_input_plane", outputs: [ph * pw], "\(ph)x\(pw) k \(k) stride \(s)") { t, o in
                t.skd_dwconv_backward_input_plane!(gs, ks, o[0], a.0, a.1, a.2, a.2, a.3, a.4, a.5, a.6, scratch)
            }
            compare("skd_dwconv_backward_weight_plane", outputs: [k * k], "\(ph)x\(pw) k \(k) stride \(s)") { t, o in
                t.skd_dwconv_backward_weight_plane!(xs, gs, o[0], a.0, a.1, a.2, a.2, a.3, a.4, a.5, a.6, scratch)
            }
        }
    }
}
