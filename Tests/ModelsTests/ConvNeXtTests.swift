import Models
import NN
import Tensor
import TestSupport
import XCTest

final class ConvNeXtTests: XCTestCase {
    func testPaperPresetCounts() {
        let preset = CNNZooChecks.preset("convnext-t")
        CNNZooChecks.assertPaperCounts(preset)
        XCTAssertEqual(preset.cost().params, 28_589_128)  // timm convnext_tiny
    }

    func testTimmNames() {
        var rng = RandomGenerator(seed: 1)
        let model = ConvNeXt(ConvNeXt.Config(depths: [1, 1, 1, 1], dims: [4, 4, 8, 8], inputSize: 32, classes: 3), rng: &rng)
        let names = CNNZooChecks.names(model)
        for n in ["stem.0.weight", "stem.0.bias", "stem.1.weight", "stages.0.blocks.0.conv_dw.weight",
                  "stages.0.blocks.0.norm.weight", "stages.0.blocks.0.mlp.fc1.weight", "stages.0.blocks.0.mlp.fc2.bias",
                  "stages.0.blocks.0.gamma", "stages.1.downsample.0.weight", "stages.1.downsample.1.weight",
                  "stages.3.blocks.0.gamma", "head.norm.weight", "head.fc.weight"] {
            XCTAssertTrue(names.contains(n), "missing \(n) in \(names.sorted())")
        }
        XCTAssertFalse(names.contains { $0.hasPrefix("stages.0.downsample") })
        XCTAssertEqual(model.stages[0].blocks[0].gamma.values, [Float](repeating: 1e-6, count: 4))
    }

    func testPaperStages() {
        var rng = RandomGenerator(seed: 1)
        let model = MetaMode.count { ConvNeXt(ConvNeXt.Config(depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], dropPathRate: 0.1), rng: &rng) }.0
        XCTAssertEqual(model.stageGrids, [56, 28, 14, 7])
        // Drop path rises linearly over the 18 blocks to the configured rate.
        let rates = model.stages.flatMap { $0.blocks.map(\.dropPath) }
        XCTAssertEqual(rates.count, 18)
        XCTAssertEqual(rates.first, 0)
        XCTAssertEqual(rates[9], 0.1 * 9 / 17, accuracy: 1e-7)
        XCTAssertEqual(rates.last!, 0.1, accuracy: 1e-7)
    }

    func testMiniPreset() {
        let preset = CNNZooChecks.preset("convnext-mini")
        CNNZooChecks.assertShapes(preset)
        CNNZooChecks.assertLearns(preset)
    }

    /// The channels-last block (depthwise conv, LN, MLP, layer scale) and the LN + 2x2 patch
    /// conv downsample, with gamma at 1 so the branch matters. (A finite-difference step of
    /// 1e-2 misses one coordinate by 11% on the curvature of the 4-channel layer norm.)
    func testBlockAndStageGradients() {
        var rng = RandomGenerator(seed: 2)
        let stage = ConvNeXtStage(3, 4, dropPathRates: [0.5], kernel: 3, layerScaleInit: 1, rng: &rng)
        stage.setTraining(false)  // drop path off
        let block = stage.blocks[0]
        let x = randomTensor([2, 6, 6, 3], seed: 3)
        assertGradientsMatch([x, block.convDw.weight, block.norm.weight, block.mlp.fc1.weight, block.gamma],
                             eps: 3e-3, atol: 5e-3, rtol: 3e-2) { stage($0[0]) }
    }

    /// The channels-last network computes timm's NCHW formulation (LayerNorm2d by permutes,
    /// depthwise conv and 2x2 stride-2 conv on NCHW, permutes around LN + MLP): stage outputs
    /// and logits, from the same parameters.
    func testChannelsLastEqualsTimmLayout() {
        var rng = RandomGenerator(seed: 5)
        let model = ConvNeXt(ConvNeXt.Config(depths: [1, 2, 1, 1], dims: [4, 8, 8, 16], kernel: 3, stemKernel: 3, stemStride: 1,
                                             layerScaleInit: 0.5, inputSize: 16, inputChannels: 1, classes: 3), rng: &rng)
        model.setTraining(false)
        let x = randomTensor([2, 1, 16, 16], seed: 6, requiresGrad: false)
        let got = withoutGrad { model.stageFeatures(x) }
        func ln2d(_ t: Tensor, _ norm: Module) -> Tensor {
            let n = norm as! LayerNorm
            return t.permuted([0, 2, 3, 1]).layerNorm(weight: n.weight, bias: n.bias, eps: n.eps).permuted([0, 3, 1, 2])
        }
        var h = withoutGrad { ln2d((model.stem[0] as! Conv2d)(x), model.stem[1]) }, want: [Tensor] = []
        for stage in model.stages {
            withoutGrad {
                if let d = stage.downsample { h = (d[1] as! Conv2d)(ln2d(h, d[0])) }
                for b in stage.blocks {
                    h = h + (b.mlp(b.norm(b.convDw(h).permuted([0, 2, 3, 1]))) * b.gamma).permuted([0, 3, 1, 2])
                }
            }
            want.append(h)
        }
        let logits = withoutGrad { model.head.fc(model.head.norm(h.mean(axes: [2, 3]))) }
        XCTAssertEqual(got.stages.map(\.shape), want.map(\.shape))
        for (i, (g, w)) in zip(got.stages, want).enumerated() { assertRelativeError(g.values, w.values, below: 1e-5, "stage \(i + 1)") }
        assertRelativeError(got.logits.values, logits.values, below: 1e-5, "logits")
        assertRelativeError(withoutGrad { model(x) }.values, logits.values, below: 1e-5, "callAsFunction")
    }

    /// Stochastic depth drops whole samples of the residual branch in training, never in eval.
    func testDropPath() {
        var rng = RandomGenerator(seed: 4)
        let stage = ConvNeXtStage(nil, 4, dropPathRates: [0.5], kernel: 3, layerScaleInit: 1, rng: &rng)
        let x = randomTensor([32, 3, 3, 4], seed: 5, requiresGrad: false)
        let y = withoutGrad { stage(x) }
        var unchanged = 0
        for n in 0..<32 {
            let a = Array(x.values[(n * 36)..<((n + 1) * 36)]), b = Array(y.values[(n * 36)..<((n + 1) * 36)])
            if a == b { unchanged += 1 }
        }
        XCTAssertGreaterThan(unchanged, 4)
        XCTAssertLessThan(unchanged, 28)
        stage.setTraining(false)
        let z = withoutGrad { stage(x) }
        XCTAssertNotEqual(z.values, x.values)
    }

}
