import Models
import NN
import Tensor
import TestSupport
import XCTest

final class ResNetTests: XCTestCase {
    func testPaperPresetCounts() {
        for name in ["resnet50", "resnet152"] { CNNZooChecks.assertPaperCounts(CNNZooChecks.preset(name)) }
        // Exact torchvision counts prove the layout (and ResNet-18, not in the paper, against torchvision's).
        XCTAssertEqual(CNNZooChecks.preset("resnet18").cost().params, 11_689_512)
        XCTAssertEqual(CNNZooChecks.preset("resnet50").cost().params, 25_557_032)
        XCTAssertEqual(CNNZooChecks.preset("resnet152").cost().params, 60_192_808)
        // torchvision's documented 1.81 GFLOPs (MACs) for ResNet-18.
        XCTAssertEqual(Double(CNNZooChecks.preset("resnet18").cost().macs) / 1e9, 1.81, accuracy: 0.02)
    }

    func testTorchvisionNames() {
        var rng = RandomGenerator(seed: 1)
        let names = CNNZooChecks.names(ResNet(ResNet.Config(block: .bottleneck, depths: [1, 1, 1, 1], widths: [4, 4, 4, 4],
                                                           inputSize: 32, classes: 3), rng: &rng))
        for n in ["conv1.weight", "bn1.weight", "bn1.running_mean", "layer1.0.conv3.weight", "layer1.0.downsample.0.weight",
                  "layer2.0.downsample.1.running_var", "layer4.0.bn3.bias", "fc.weight", "fc.bias"] {
            XCTAssertTrue(names.contains(n), "missing \(n) in \(names.sorted())")
        }
        XCTAssertFalse(names.contains { $0.contains("shortcut") })
    }

    func testMiniPreset() {
        let preset = CNNZooChecks.preset("resnet-mini")
        CNNZooChecks.assertShapes(preset)
        CNNZooChecks.assertLearns(preset)
    }

    /// Both block kinds, in eval mode (BN from running statistics), with a projection shortcut.
    func testBlockGradients() {
        var rng = RandomGenerator(seed: 2)
        let basic = BasicBlock(3, 4, stride: 2, rng: &rng)
        let bottleneck = Bottleneck(4, 2, stride: 2, rng: &rng)
        basic.setTraining(false)
        bottleneck.setTraining(false)
        let x = randomTensor([2, 3, 5, 5], seed: 3), y = randomTensor([2, 4, 5, 5], seed: 4)
        assertGradientsMatch([x, basic.conv1.weight, basic.conv2.weight, basic.bn2.weight]) { basic($0[0]) }
        assertGradientsMatch([y, bottleneck.conv2.weight, bottleneck.conv3.weight]) { bottleneck($0[0]) }
    }

}
