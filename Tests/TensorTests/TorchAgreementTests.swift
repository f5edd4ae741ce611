import Tensor
import TestSupport
import XCTest

/// Forward values and gradients against PyTorch on fixed inputs
/// (Fixtures/ops.h5, written by tools/make_fixtures.py). Each case stores inputs, an
/// upstream gradient R, the output and the gradients of sum(out * R).
final class TorchAgreementTests: XCTestCase {
    /// Runs `f`, compares the output and every stored gradient with PyTorch's; `variant`
    /// names the path in failure messages.
    func check(_ name: String, variant: String = "", inputs: [String], atol: Float = 2e-5, rtol: Float = 1e-4,
               file: StaticString = #filePath, line: UInt = #line,
               _ f: (Fixture, [String: Tensor]) throws -> Tensor) throws {
        let fx = try Fixture("ops.h5", group: name)
        let label = variant.isEmpty ? name : "\(name) (\(variant))"
        var ts: [String: Tensor] = [:]
        for k in inputs { ts[k] = try fx.tensor(k, requiresGrad: true) }
        let out = try f(fx, ts)
        assertClose(out.values, try fx.tensor("out").values, atol: atol, rtol: rtol, "\(label) output", file: file, line: line)
        (out * (try fx.tensor("r"))).sum().backward()
        for k in inputs {
            guard let g = ts[k]!.grad else { XCTFail("\(label): no gradient for \(k)", file: file, line: line); continue }
            assertClose(g.values, try fx.tensor("grad_" + k).values, atol: atol, rtol: rtol, "\(label) grad \(k)", file: file, line: line)
        }
    }

    /// On both backends (SCALEKD_CONV's native and dnnl).
    func testConv2d() throws {
        for backend in ConvBackend.allCases {
            for name in ["conv2d_plain", "conv2d_stride2", "conv2d_groups", "conv2d_depthwise", "conv2d_patch4"] {
                try ConvBackend.using(backend) {
                    try check(name, variant: "\(backend)", inputs: ["x", "w", "b"]) { fx, t in
                        t["x"]!.conv2d(weight: t["w"]!, bias: t["b"]!, stride: try fx.int("stride"),
                                       padding: try fx.int("padding"), groups: try fx.int("groups"))
                    }
                }
            }
        }
    }

    func testBatchNormTrainingUpdatesRunningStatistics() throws {
        let rm = Tensor(zeros: [3]), rv = Tensor(shape: [3], repeating: 1)
        try check("batch_norm_train", inputs: ["x", "w", "b"], atol: 5e-5) { _, t in
            t["x"]!.batchNorm(weight: t["w"]!, bias: t["b"]!, runningMean: rm, runningVar: rv, training: true)
        }
        let fx = try Fixture("ops.h5", group: "batch_norm_train")
        assertClose(rm.values, try fx.tensor("running_mean").values, atol: 1e-6, rtol: 1e-5, "running mean")
        assertClose(rv.values, try fx.tensor("running_var").values, atol: 1e-6, rtol: 1e-5, "running var")
    }

    func testBatchNormEval() throws {
        try check("batch_norm_eval", inputs: ["x", "w", "b"]) { fx, t in
            t["x"]!.batchNorm(weight: t["w"]!, bias: t["b"]!, runningMean: try fx.tensor("running_mean"),
                              runningVar: try fx.tensor("running_var"), training: false)
        }
    }

    func testLayerNorm() throws {
        try check("layer_norm", inputs: ["x", "w", "b"], atol: 5e-5) { fx, t in
            t["x"]!.layerNorm(weight: t["w"]!, bias: t["b"]!, eps: Float(try fx.double("eps")))
        }
    }

    func testGELU() throws {
        try check("gelu", inputs: ["x"]) { _, t in t["x"]!.gelu() }
    }

    func testCrossEntropyWithLabelSmoothing() throws {
        try check("cross_entropy_ls", inputs: ["x"]) { fx, t in
            t["x"]!.crossEntropy(labels: try fx.ints("labels"), labelSmoothing: Float(try fx.double("label_smoothing")))
        }
    }

    /// Attention composed from engine primitives, with timm's qkv layout and a logit bias.
    func testSelfAttention() throws {
        try check("self_attention", inputs: ["x", "qkv_weight", "qkv_bias", "proj_weight", "proj_bias", "bias"]) { fx, t in
            let heads = try fx.int("heads")
            let x = t["x"]!
            let (b, l, c) = (x.shape[0], x.shape[1], x.shape[2])
            let d = c / heads
            let qkv = x.linear(weight: t["qkv_weight"]!, bias: t["qkv_bias"]!).reshaped([b, l, 3, heads, d]).permuted([2, 0, 3, 1, 4])
            let q = qkv.sliced(axis: 0, 0..<1).reshaped([b, heads, l, d])
            let k = qkv.sliced(axis: 0, 1..<2).reshaped([b, heads, l, d])
            let v = qkv.sliced(axis: 0, 2..<3).reshaped([b, heads, l, d])
            let a = (q.matmul(k, transposeB: true) * (1 / Float(d).squareRoot()) + t["bias"]!).softmax()
            let merged = a.matmul(v).permuted([0, 2, 1, 3]).reshaped([b, l, c])
            return merged.linear(weight: t["proj_weight"]!, bias: t["proj_bias"]!)
        }
    }

    func testDCTPair() throws {
        for method in [DCTMethod.matrix, .fftw] {
            try check("dct2d", inputs: ["x"]) { _, t in t["x"]!.dct2d(method: method) }
            try check("idct2d", inputs: ["x"]) { _, t in t["x"]!.idct2d(method: method) }
        }
    }
}
