import NN
import Tensor
import TestSupport
import XCTest

/// Gradient checks of every layer, with respect to the input and every parameter.
final class LayerTests: XCTestCase {
    func testLinear() {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(6, 5, rng: &rng)
        let x = randomTensor([2, 3, 6], seed: 2)
        assertGradientsMatch([x, layer.weight, layer.bias!]) { layer($0[0]) }
    }

    /// On both convolution backends (SCALEKD_CONV's native and dnnl).
    func testConv2dLayer() {
        var rng = RandomGenerator(seed: 3)
        let conv = Conv2d(3, 4, kernel: 3, stride: 2, padding: 1, rng: &rng)
        let x = randomTensor([2, 3, 7, 7], seed: 4)
        for backend in ConvBackend.allCases {
            ConvBackend.using(backend) { assertGradientsMatch([x, conv.weight, conv.bias!]) { conv($0[0]) } }
        }
    }

    func testBatchNormLayer() {
        let bn = BatchNorm2d(3)
        let x = randomTensor([4, 3, 3, 5], seed: 5)
        assertGradientsMatch([x, bn.weight, bn.bias], atol: 5e-3, rtol: 3e-2) { bn($0[0]) }
        bn.setTraining(false)
        assertGradientsMatch([x, bn.weight, bn.bias]) { bn($0[0]) }
    }

    func testLayerNormLayers() {
        let ln = LayerNorm(7)
        let x = randomTensor([2, 3, 7], seed: 6)
        assertGradientsMatch([x, ln.weight, ln.bias], atol: 5e-3, rtol: 3e-2) { ln($0[0]) }
        let ln2 = LayerNorm(4, channelsFirst: true)
        let y = randomTensor([2, 4, 3, 5], seed: 7)
        assertGradientsMatch([y, ln2.weight, ln2.bias], atol: 5e-3, rtol: 3e-2) { ln2($0[0]) }
    }

    func testMLP() {
        var rng = RandomGenerator(seed: 8)
        let mlp = MLP(5, hidden: 9, activation: .gelu, rng: &rng)
        let x = randomTensor([3, 5], seed: 9)
        assertGradientsMatch([x, mlp.fc1.weight, mlp.fc1.bias!, mlp.fc2.weight]) { mlp($0[0]) }
    }

    func testSelfAttentionWithBias() {
        var rng = RandomGenerator(seed: 10)
        let attn = MultiHeadSelfAttention(dim: 8, heads: 2, rng: &rng)
        let x = randomTensor([2, 5, 8], seed: 11)
        let bias = randomTensor([2, 5, 5], seed: 12)
        assertGradientsMatch([x, attn.qkv.weight, attn.proj.weight, bias]) { attn($0[0], bias: $0[3]) }
    }

    func testCrossAttention() {
        var rng = RandomGenerator(seed: 13)
        let attn = MultiHeadCrossAttention(queryDim: 6, keyDim: 4, dim: 6, heads: 3, extraScale: 5, rng: &rng)
        let q = randomTensor([2, 3, 6], seed: 14), kv = randomTensor([2, 7, 4], seed: 15)
        assertGradientsMatch([q, kv, attn.q.weight, attn.k.weight, attn.v.weight, attn.proj.weight]) {
            attn(queries: $0[0], keysValues: $0[1])
        }
    }

    /// The fused kernel and the composed ops compute the same attention (forward and every
    /// gradient): packed with bias and a windowed mask, packed plain, separate projections.
    func testFusedAttentionMatchesComposed() {
        let mask = Tensor(shape: [3, 16, 16], values: (0..<768).map { ($0 / 5) % 3 == 1 ? -100 : 0 })
        let cases: [(String, [Tensor], ([Tensor]) -> Tensor)] = [
            ("windows", [randomTensor([6, 16, 24], seed: 1), randomTensor([2, 16, 16], seed: 2)],
             { multiHeadAttention(qkv: $0[0], heads: 2, scale: 0.35, bias: $0[1], mask: mask) }),
            ("plain", [randomTensor([3, 9, 18], seed: 3)], { multiHeadAttention(qkv: $0[0], heads: 3, scale: 0.5) }),
            // d = 43 and 41 keys: the kernels' 32-wide, 8-wide and scalar column blocks all run.
            ("wide", [randomTensor([2, 41, 258], seed: 7)], { multiHeadAttention(qkv: $0[0], heads: 2, scale: 0.15) }),
            ("cross", [randomTensor([2, 4, 8], seed: 4), randomTensor([2, 11, 8], seed: 5), randomTensor([2, 11, 8], seed: 6)],
             { multiHeadAttention(q: $0[0], k: $0[1], v: $0[2], heads: 2, scale: 2.5) }),
        ]
        for (name, inputs, f) in cases {
            func run(_ backend: AttentionBackend) -> [[Float]] {
                AttentionBackend.using(backend) {
                    inputs.forEach { $0.grad = nil }
                    let y = f(inputs)
                    (y * randomTensor(y.shape, seed: 9, requiresGrad: false)).sum().backward()
                    return [y.values] + inputs.map { $0.grad!.values }
                }
            }
            let fused = run(.fused), composed = run(.composed)
            for (i, (a, b)) in zip(fused, composed).enumerated() {
                assertClose(a, b, atol: 1e-5, rtol: 1e-4, "\(name) \(i == 0 ? "output" : "gradient of input \(i - 1)")")
            }
        }
    }

    func testParameterNamesFollowPyTorch() {
        final class Block: Module {
            let norm1 = LayerNorm(4)
            let attn: MultiHeadSelfAttention
            let relativePositionBiasTable = parameter([3, 2], constant: 0)
            init(rng: inout RandomGenerator) { attn = MultiHeadSelfAttention(dim: 4, heads: 2, rng: &rng) }
        }
        final class Net: Module {
            let patchEmbed: Conv2d
            let blocks: [Block]
            let head: Linear?
            init(rng: inout RandomGenerator) {
                patchEmbed = Conv2d(1, 4, kernel: 2, rng: &rng)
                blocks = [Block(rng: &rng), Block(rng: &rng)]
                head = nil
            }
        }
        var rng = RandomGenerator(seed: 16)
        let names = Net(rng: &rng).namedParameters().map(\.0)
        // As in PyTorch, a module's own tensors come before its children's.
        XCTAssertEqual(Array(names.prefix(4)), ["patch_embed.weight", "patch_embed.bias", "blocks.0.relative_position_bias_table", "blocks.0.norm1.weight"])
        XCTAssertTrue(names.contains("blocks.1.attn.qkv.weight"))
        XCTAssertTrue(names.contains("blocks.1.relative_position_bias_table"))
        let bn = BatchNorm2d(3)
        XCTAssertEqual(bn.namedTensors().map(\.0), ["weight", "bias", "running_mean", "running_var"])
        XCTAssertEqual(bn.namedParameters().map(\.0), ["weight", "bias"])
    }

    func testFrozenModuleStillPassesGradients() {
        var rng = RandomGenerator(seed: 17)
        let teacher = Linear(4, 3, rng: &rng)
        teacher.freeze()
        let x = randomTensor([2, 4], seed: 18)
        teacher(x).sum().backward()
        XCTAssertNil(teacher.weight.grad)
        XCTAssertTrue(x.grad!.values.contains { $0 != 0 })
    }
}
