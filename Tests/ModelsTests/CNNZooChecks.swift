import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

/// Checks shared by the CNN families' tests (ResNet, MobileNet-V1, ConvNeXt).
enum CNNZooChecks {
    /// Parameters within 0.5% and multiply-accumulates within 5% of the published figures.
    static func assertPaperCounts(_ preset: ModelPreset, file: StaticString = #filePath, line: UInt = #line) {
        let (params, macs) = preset.cost()
        if let paper = preset.paperParamsM {
            let ours = Double(params) / 1e6
            XCTAssertLessThan(abs(ours - paper) / paper, 0.005, "\(preset.name): \(ours)M params vs paper \(paper)M",
                              file: file, line: line)
        }
        if let paper = preset.paperGFLOPs {
            let ours = Double(macs) / 1e9
            XCTAssertLessThan(abs(ours - paper) / paper, 0.05, "\(preset.name): \(ours) GMACs vs paper \(paper)G",
                              file: file, line: line)
        }
    }

    static func preset(_ name: String) -> ModelPreset {
        guard let p = Zoo.preset(named: name) else { fatalError("no preset \(name) in the zoo") }
        return p
    }

    /// Logits [N, classes] and four stage maps with the declared channels and grids.
    static func assertShapes(_ preset: ModelPreset, batch: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
        var rng = RandomGenerator(seed: 1)
        let model = preset.build(&rng)
        let x = randomTensor([batch, preset.inputChannels, preset.inputSize, preset.inputSize], seed: 2, requiresGrad: false)
        let out = withoutGrad { model.stageFeatures(x) }
        XCTAssertEqual(out.logits.shape, [batch, preset.classes], "\(preset.name) logits", file: file, line: line)
        XCTAssertEqual(out.stages.count, 4, file: file, line: line)
        XCTAssertEqual(model.stageChannels.count, 4, file: file, line: line)
        for (i, s) in out.stages.enumerated() {
            let g = model.stageGrids[i]
            XCTAssertEqual(s.shape, [batch, model.stageChannels[i], g, g], "\(preset.name) stage \(i + 1)", file: file, line: line)
        }
        if preset.scale == .mini {
            XCTAssertEqual(model.stageGrids, [32, 16, 8, 4], "\(preset.name) mini grids", file: file, line: line)
        }
        // Logits alone agree with the logits of stageFeatures (eval mode: no batch statistics updates).
        model.setTraining(false)
        let a = withoutGrad { model(x) }, b = withoutGrad { model.stageFeatures(x).logits }
        assertClose(a.values, b.values, atol: 1e-6, "\(preset.name) callAsFunction vs stageFeatures", file: file, line: line)
    }

    /// A few AdamW steps on 16 random images with fixed labels make the loss fall.
    /// Shared by every family's tests (CNNs, Swin, ViT, Mixer).
    static func assertLearns(_ preset: ModelPreset, steps: Int = 8, learningRate: Float = 2e-3, maxRatio: Float = 0.7,
                             file: StaticString = #filePath, line: UInt = #line) {
        var rng = RandomGenerator(seed: 3)
        let model = preset.build(&rng)
        let x = randomTensor([16, preset.inputChannels, preset.inputSize, preset.inputSize], seed: 4, requiresGrad: false)
        let labels = (0..<16).map { $0 % preset.classes }
        let opt = AdamW(parameterSlots(model.namedParameters(), weightDecay: 0.05))
        var losses: [Float] = []
        for _ in 0..<steps {
            opt.zeroGradients()
            let loss = model(x).crossEntropy(labels: labels)
            losses.append(loss.scalar)
            loss.backward()
            opt.step(learningRate: learningRate)
        }
        let final = withoutGrad { model(x).crossEntropy(labels: labels).scalar }
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(preset.name) losses \(losses)", file: file, line: line)
        XCTAssertLessThan(final, maxRatio * losses[0], "\(preset.name) loss \(losses[0]) -> \(final)", file: file, line: line)
    }

    static func names(_ model: Module) -> Set<String> { Set(model.namedTensors().map(\.0)) }
}
