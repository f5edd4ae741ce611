import Models
import NN
import Tensor
import TestSupport
import XCTest

/// Where a ViT teacher's stages are tapped and which blocks Teacher Parameter Perception runs,
/// and the paper teachers' released settings.
final class TeacherStagesTests: XCTestCase {
    /// The paper's BEiT-L (EVA-L) teacher as the authors' patched backbone runs it: stages after
    /// 0-based blocks 8, 12, 16, 23; TPP through blocks 22 and 23.
    func testPaperBEiTTapsAndPerceptionBlocks() {
        let config = BEiT.evaLarge14(imageSize: 224)
        XCTAssertEqual(config.tappedBlocks, [8, 12, 16, 23])
        XCTAssertEqual(config.stageEnds, [9, 13, 17, 24])
        XCTAssertEqual(config.perceptionStart, 22)
    }

    /// The mini teachers keep their structure: stages after d/4, d/2, 3d/4, d and TPP through
    /// the last d/4 blocks.
    func testMiniPresetsUnchanged() {
        let mini = BEiT.mini(width: 128, depth: 8, heads: 4)
        XCTAssertNil(mini.tappedBlocks)
        XCTAssertNil(mini.perceptionBlocks)
        XCTAssertEqual(mini.stageEnds, [2, 4, 6, 8])
        XCTAssertEqual(mini.perceptionStart, 6)
        XCTAssertEqual(ViT.mini(width: 48, depth: 4, heads: 2).stageEnds, [1, 2, 3, 4])
    }

    func testSwinLargeDropPathIsTheReleasedOne() {
        XCTAssertEqual(Swin.large.dropPathRate, 0.1)
        XCTAssertEqual(Swin.large.embedDim, 192)
        XCTAssertEqual(Swin.large.depths, [2, 2, 18, 2])
    }

    /// Tapped stages are the outputs of the named blocks (the last after the final norm), and
    /// `forwardLastStage` runs the configured trailing blocks and the norm, not only stage 4's.
    func testTappedBlocksAndPerceptionBlocks() {
        var rng = RandomGenerator(seed: 41)
        let config = ViTConfig(imageSize: 16, inputChannels: 1, classes: 10, patchSize: 4, width: 8, depth: 8, heads: 2,
                               classToken: false, pooling: .average, absolutePositionEmbedding: false,
                               relativePositionBias: true, layerScale: 0.1, qkvBias: .qv, tappedBlocks: [1, 3, 4, 7],
                               perceptionBlocks: 1)
        let model = VisionTransformer(config, rng: &rng)
        model.setTraining(false)
        let x = randomTensor([2, 1, 16, 16], seed: 42, requiresGrad: false)
        let g = config.grid
        func map(_ t: Tensor) -> Tensor { t.permuted([0, 2, 1]).reshaped([t.shape[0], config.width, g, g]) }
        func tokens(_ m: Tensor) -> Tensor { m.reshaped([m.shape[0], config.width, g * g]).permuted([0, 2, 1]) }
        var t = model.embed(x)
        var expected: [Tensor] = []
        var noDrops = RandomGenerator(seed: 0)
        for (i, block) in model.blocks.enumerated() {
            t = block(t, rng: &noDrops)
            if i == 7 { t = model.norm(t) }
            if [1, 3, 4, 7].contains(i) { expected.append(map(t)) }
        }
        let stages = model.stageFeatures(x).stages
        XCTAssertEqual(stages.count, 4)
        for (a, b) in zip(stages, expected) { assertClose(a.values, b.values, atol: 1e-6, rtol: 1e-5, "tapped stage") }

        let input = stages[2]
        var u = tokens(input)
        for block in model.blocks[7...] { u = block(u, rng: &noDrops) }
        assertClose(model.forwardLastStage(input).values, map(model.norm(u)).values, atol: 1e-6, rtol: 1e-5, "TPP blocks")
        // Neither the default (stage 4's blocks, 6 and 7) nor the blocks after the stage-3 tap (5-7).
        for start in [5, 6] {
            var v = tokens(input)
            for block in model.blocks[start...] { v = block(v, rng: &noDrops) }
            XCTAssertGreaterThan(zip(model.forwardLastStage(input).values, map(model.norm(v)).values).map { abs($0 - $1) }.max()!,
                                 1e-3, "TPP from block \(start)")
        }
    }
}
