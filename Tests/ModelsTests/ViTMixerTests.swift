import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

/// ViT/DeiT, the BEiT/EVA teacher and MLP-Mixer.
final class ViTMixerTests: XCTestCase {
    func preset(_ name: String) -> ModelPreset {
        guard let p = Zoo.preset(named: name) else { fatalError("no preset \(name)") }
        return p
    }

    // MARK: Paper-size counts

    /// Parameters within 0.5% and MACs (attention matmuls included) within 5% of Table 3.
    func testPaperPresetCounts() {
        for name in ["vit-s16", "vit-b16", "vit-b14", "beit-l14", "mixer-s16", "mixer-b16"] {
            let p = preset(name)
            let (params, macs) = p.cost()
            let paperParams = p.paperParamsM! * 1e6, paperMACs = p.paperGFLOPs! * 1e9
            XCTAssertEqual(Double(params), paperParams, accuracy: 0.005 * paperParams, "\(name) params \(params)")
            XCTAssertEqual(Double(macs), paperMACs, accuracy: 0.05 * paperMACs, "\(name) MACs \(macs)")
        }
    }

    /// Mixer-B/14: the paper prints Mixer-B/16's 59.88M, but with patch 14 at 224 px
    /// the grid is 16x16 and the token MLPs are 256->384->256, so the real model has
    /// 60,295,912 parameters (+0.69%). Its FLOPs (16.45G) do match the 256-token model.
    func testMixerB14CountsTheRealArchitecture() {
        let p = preset("mixer-b14")
        let (params, macs) = p.cost()
        XCTAssertEqual(params, 60_295_912)
        XCTAssertEqual(Double(params) / (p.paperParamsM! * 1e6), 1.0069, accuracy: 0.0005)
        XCTAssertEqual(Double(macs), p.paperGFLOPs! * 1e9, accuracy: 0.05 * p.paperGFLOPs! * 1e9)
    }

    /// Exact counts of the reference implementations.
    func testExactReferenceCounts() {
        // timm vit_small_patch16_224 / vit_base_patch16_224, mixer_s16_224 / mixer_b16_224.
        XCTAssertEqual(preset("vit-s16").cost().params, 22_050_664)
        XCTAssertEqual(preset("vit-b16").cost().params, 86_567_656)
        XCTAssertEqual(preset("mixer-s16").cost().params, 18_528_264)
        XCTAssertEqual(preset("mixer-b16").cost().params, 59_880_472)
        // mmcls metafile of eva-l-p14_mim-in21k-pre_3rdparty_in1k-196px: 304,142,312.
        let ((eva, _), _) = MetaMode.count { () -> (Int, Int) in
            var rng = RandomGenerator(seed: 0)
            return (VisionTransformer(BEiT.evaLarge14(imageSize: 196), rng: &rng).parameterCount, 0)
        }
        XCTAssertEqual(eva, 304_142_312)
    }

    func testTimmParameterNames() {
        var rng = RandomGenerator(seed: 1)
        let vit = VisionTransformer(BEiT.mini(width: 16, depth: 4, heads: 2), rng: &rng)
        let names = Set(vit.namedParameters().map(\.0))
        for n in ["patch_embed.proj.weight", "blocks.0.norm1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.q_bias",
                  "blocks.0.attn.v_bias", "blocks.0.attn.relative_position_bias_table", "blocks.0.attn.proj.bias",
                  "blocks.0.gamma_1", "blocks.3.gamma_2", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.bias",
                  "norm.weight", "head.weight"] {
            XCTAssertTrue(names.contains(n), "missing \(n)")
        }
        let deit = VisionTransformer(ViTConfig(imageSize: 32, inputChannels: 1, classes: 10, patchSize: 4, width: 16,
                                               depth: 4, heads: 2, classToken: true), rng: &rng)
        let dn = Set(deit.namedParameters().map(\.0))
        for n in ["cls_token", "pos_embed", "blocks.0.attn.qkv.bias"] { XCTAssertTrue(dn.contains(n), "missing \(n)") }
        let mixer = MLPMixer(MLPMixer.mini(width: 16, depth: 4, tokensHidden: 8), rng: &rng)
        let mn = Set(mixer.namedParameters().map(\.0))
        for n in ["stem.proj.weight", "blocks.0.norm1.weight", "blocks.0.mlp_tokens.fc1.weight", "blocks.0.norm2.bias",
                  "blocks.0.mlp_channels.fc2.weight", "norm.weight", "head.bias"] {
            XCTAssertTrue(mn.contains(n), "missing \(n)")
        }
    }

    // MARK: Composites

    /// BEiT's index: token 0 is the class token; patch offsets share rows.
    func testRelativePositionIndex() {
        let index = RelativePositionIndex(grid: 3, classToken: true)
        XCTAssertEqual(index.tableSize, 25 + 3)
        let l = 10, idx = index.indices(tokens: l)
        XCTAssertEqual(idx[0], 27)                // class -> class
        XCTAssertEqual(idx[1], 25)                // class -> patch
        XCTAssertEqual(idx[l], 26)                // patch -> class
        for i in 1..<l { XCTAssertEqual(idx[i * l + i], 12) }  // zero offset: centre row (2*5 + 2)
        // Same offset, same row: (0,0)->(1,1) and (1,1)->(2,2); opposite offsets mirror.
        XCTAssertEqual(idx[(1 + 0) * l + (1 + 4)], idx[(1 + 4) * l + (1 + 8)])
        XCTAssertEqual(idx[(1 + 0) * l + (1 + 4)] + idx[(1 + 4) * l + (1 + 0)], 24)
        // Patch tokens alone use the patch block of the same table.
        let patches = index.indices(tokens: 9)
        for i in 0..<9 { for j in 0..<9 { XCTAssertEqual(patches[i * 9 + j], idx[(i + 1) * l + j + 1]) } }
    }

    func testAttentionGradients() {
        for classToken in [false, true] {
            var rng = RandomGenerator(seed: 3)
            let attn = ViTAttention(width: 8, heads: 2, bias: .qv, relativePositionGrid: 2, classToken: classToken, rng: &rng)
            // Non-zero q/v biases so their gradients are exercised through the concat.
            attn.qBias!.assign(randomTensor([8], seed: 4, lo: -0.5, hi: 0.5))
            attn.vBias!.assign(randomTensor([8], seed: 5, lo: -0.5, hi: 0.5))
            attn.relativePositionBiasTable!.assign(randomTensor(attn.relativePositionBiasTable!.shape, seed: 6))
            let x = randomTensor([2, classToken ? 5 : 4, 8], seed: 7)
            assertGradientsMatch([x, attn.qBias!, attn.vBias!, attn.relativePositionBiasTable!]) { _ in attn(x) }
        }
    }

    func testClassTokenEmbeddingAndMixerBlockGradients() {
        var rng = RandomGenerator(seed: 8)
        let vit = VisionTransformer(ViTConfig(imageSize: 8, inputChannels: 1, classes: 3, patchSize: 4, width: 4,
                                              depth: 4, heads: 1, classToken: true, pooling: .classToken), rng: &rng)
        let img = randomTensor([2, 1, 8, 8], seed: 9)
        assertGradientsMatch([img, vit.clsToken!, vit.posEmbed!]) { _ in vit.embed(img) }

        let mixer = MLPMixer(MixerConfig(imageSize: 8, inputChannels: 1, classes: 3, patchSize: 2, width: 6, depth: 4,
                                         tokensHidden: 5, channelsHidden: 7), rng: &rng)
        let x = randomTensor([2, 16, 6], seed: 10)
        let block = mixer.blocks[0]
        var r = RandomGenerator(seed: 0)
        assertGradientsMatch([x, block.mlpTokens.fc1.weight]) { _ in block(x, rng: &r) }
    }

    // MARK: Minis

    let miniNames = ["vit-mini-s", "vit-mini-b", "vit-mini-l", "mixer-mini-s", "mixer-mini-b"]

    func testMiniShapes() {
        for name in miniNames {
            let p = preset(name)
            var rng = RandomGenerator(seed: 11)
            let model = p.build(&rng)
            model.setTraining(false)  // two passes must agree: no drop-path draws
            XCTAssertEqual(model.stageGrids, [8, 8, 8, 8], name)
            let x = randomTensor([2, 1, 32, 32], seed: 12, requiresGrad: false)
            let out = withoutGrad { model.stageFeatures(x) }
            XCTAssertEqual(out.logits.shape, [2, 10], name)
            XCTAssertEqual(out.stages.count, 4)
            for (s, c) in zip(out.stages, model.stageChannels) { XCTAssertEqual(s.shape, [2, c, 8, 8], name) }
            let logits = withoutGrad { model(x) }
            assertClose(logits.values, out.logits.values, atol: 1e-5, "\(name) logits")
        }
    }

    func testMinisLearnATinyBatch() {
        for name in miniNames { CNNZooChecks.assertLearns(preset(name), steps: 12, learningRate: 3e-3, maxRatio: 0.75) }
    }

    func testTeacherLastStageMatchesAndPassesGradients() {
        var rng = RandomGenerator(seed: 15)
        let teacher = preset("vit-mini-l").build(&rng) as! VisionTransformer
        teacher.setTraining(false)
        teacher.freeze()
        let before = teacher.parameters().map(\.values)
        let x = randomTensor([2, 1, 32, 32], seed: 16, requiresGrad: false)
        let out = teacher.stageFeatures(x)
        let s3 = out.stages[2].detached()
        s3.requiresGrad = true
        let s4 = teacher.forwardLastStage(s3)
        XCTAssertEqual(s4.shape, out.stages[3].shape)
        let diff = zip(s4.values, out.stages[3].values).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(diff, 1e-5)
        s4.squared().sum().backward()
        let g = try! XCTUnwrap(s3.grad)
        XCTAssertGreaterThan(g.values.map(abs).max()!, 0)
        for p in teacher.parameters() { XCTAssertNil(p.grad) }
        XCTAssertEqual(teacher.parameters().map(\.values), before)
    }

    func testMiniTeacherIsFiveTimesEveryStudent() {
        let teacher = preset("vit-mini-l").cost().params
        for name in ["vit-mini-s", "vit-mini-b", "mixer-mini-s", "mixer-mini-b"] {
            XCTAssertGreaterThanOrEqual(teacher, 5 * preset(name).cost().params, name)
        }
    }
}
