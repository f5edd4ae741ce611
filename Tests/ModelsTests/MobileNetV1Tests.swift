import Models
import NN
import Tensor
import TestSupport
import XCTest

final class MobileNetV1Tests: XCTestCase {
    func testPaperPresetCounts() {
        let preset = CNNZooChecks.preset("mobilenet-v1")
        CNNZooChecks.assertPaperCounts(preset)
        let (params, macs) = preset.cost()
        // conv 864 + BN 64, 13 separable units (dw 9C + BN 2C + pw C*C' + BN 2C'), fc 1,025,000.
        XCTAssertEqual(params, 4_231_976)
        // The paper's 0.58G is mmcv's count, which also counts BN, ReLU and pooling; conv+fc MACs are 0.569G.
        XCTAssertEqual(Double(macs) / 1e9, 0.569, accuracy: 0.001)
    }

    func testMmclsNames() {
        var rng = RandomGenerator(seed: 1)
        let names = CNNZooChecks.names(MobileNetV1(.standard(widthMultiplier: 0.125, inputSize: 32, classes: 3), rng: &rng))
        for n in ["model.0.0.weight", "model.0.1.running_mean", "model.1.0.weight", "model.1.1.bias", "model.1.3.weight",
                  "model.13.4.running_var", "head.fc.weight", "head.fc.bias"] {
            XCTAssertTrue(names.contains(n), "missing \(n) in \(names.sorted())")
        }
        XCTAssertFalse(names.contains("model.1.2.weight"))
        XCTAssertFalse(names.contains("model.14.0.weight"))
    }

    func testPaperStages() {
        var rng = RandomGenerator(seed: 1)
        let model = MetaMode.count { MobileNetV1(.standard(), rng: &rng) }.0
        XCTAssertEqual(model.stageChannels, [128, 256, 512, 1024])
        XCTAssertEqual(model.stageGrids, [56, 28, 14, 7])
    }

    func testMiniPreset() {
        let preset = CNNZooChecks.preset("mobilenet-mini")
        CNNZooChecks.assertShapes(preset)
        CNNZooChecks.assertLearns(preset)
    }

}
