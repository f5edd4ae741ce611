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

    /// The block's channels-last composite (permute, LN, MLP, layer scale, permute back) and the
    /// LN2d + 2x2 conv downsample, with gamma at 1 so the branch matters.
    func testBlockAndStageGradients() {
        var rng = RandomGenerator(seed: 2)
        let stage = ConvNeXtStage(3, 4, dropPathRates: [0.5], kernel: 3, layerScaleInit: 1, rng: &rng)
        stage.setTraining(false)  // drop path off
        let block = stage.blocks[0]
        let x = randomTensor([2, 3, 6, 6], seed: 3)
        assertGradientsMatch([x, block.convDw.weight, block.norm.weight, block.mlp.fc1.weight, block.gamma],
                             atol: 5e-3, rtol: 3e-2) { stage($0[0]) }
    }

    /// Stochastic depth drops whole samples of the residual branch in training, never in eval.
    func testDropPath() {
        var rng = RandomGenerator(seed: 4)
        let stage = ConvNeXtStage(nil, 4, dropPathRates: [0.5], kernel: 3, layerScaleInit: 1, rng: &rng)
        let x = randomTensor([32, 4, 3, 3], seed: 5, requiresGrad: false)
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
