import Datasets
import Dense
import Foundation
import Models
import Store
import Tensor
import Training

/// One dense transfer as requested: a trained backbone run, the head settings and a seed.
/// Its hash names its directory (runs/dense/<key>/), so Tables 5 and 6 share a transfer of
/// the same backbone.
public struct DenseRequest: Codable, Equatable, Sendable {
    public var backboneRun: String
    public var model: String
    public var settings: DenseSettings
    public var seed: Int
    /// Canvas layout, so a change of the generator's defaults gives new keys.
    public var canvasSide: Int
    /// Bumped when the heads, losses or evaluation change their results.
    public var version: Int = DenseRequest.currentVersion

    public static let currentVersion = 2

    public var key: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(SHA256.hexDigest(String(decoding: try! enc.encode(self), as: UTF8.self)).prefix(16))
    }
}

/// What a dense transfer produced (runs/dense/<key>/result.json).
public struct DenseResult: Codable, Sendable {
    public var request: DenseRequest
    /// The backbone stage the heads read (0-based) and its channels.
    public var stage: Int
    public var stageChannels: Int
    public var test: DenseMetrics
    public var validation: DenseMetrics
    /// Mean of each loss term per epoch.
    public var epochLosses: [[String: Double]]
    public var wallSeconds: Double

    /// Loss terms of the first and last epoch, as text.
    public var lossSummary: String {
        guard let first = epochLosses.first, let last = epochLosses.last else { return "no epochs" }
        return first.keys.sorted().map { String(format: "%@ %.3f -> %.3f", $0, first[$0]!, last[$0] ?? .nan) }.joined(separator: ", ")
    }
}

public enum DenseRuns {
    /// Canvas seeds: training canvases vary with the transfer's seed, the validation and
    /// test canvases are the same for every transfer (so every backbone is measured on them).
    static func trainSeed(_ seed: Int) -> UInt64 { 0xD0_0000 + UInt64(seed) }
    static let validationSeed: UInt64 = 0xD1_0000, testSeed: UInt64 = 0xD2_0000

    public static func canvasConfig(_ s: DenseSettings, side: Int) -> CanvasConfig {
        CanvasConfig(width: side, height: side, objects: s.objectRange, objectSide: s.sideRange)
    }

    /// The three canvas sets: training from the 55k pre-training images, validation from the
    /// 5k validation split, test from the 10k test split (no image shared between them).
    public static func canvases(_ s: DenseSettings, side: Int, seed: Int, data: DataCatalog) -> (train: [Canvas], validation: [Canvas], test: [Canvas]) {
        let config = canvasConfig(s, side: side), f = data.fashion
        return (CanvasGenerator(source: f.teacherPretrainSet, config: config, seed: trainSeed(seed)).canvases(0..<s.trainCanvases),
                CanvasGenerator(source: f.validationSet, config: config, seed: validationSeed).canvases(0..<s.validationCanvases),
                CanvasGenerator(source: f.testSet, config: config, seed: testSeed).canvases(0..<s.testCanvases))
    }

    /// The result of the transfer from the run cache (`<root>/dense/<key>/result.json`) or the
    /// results store (`<store>/dense/<key>.json`, small and paper scale: a fresh clone knows
    /// the finished transfers), or trains and evaluates it (backbone weights from
    /// `<root>/<backbone key>/checkpoint.h5`, which must exist) and records it in both.
    public static func resultOrRun(backbone: RunConfig, settings: DenseSettings, seed: Int, root: String, store: String? = nil,
                                   data: DataCatalog, log: (String) -> Void = { print($0) }) throws -> DenseResult {
        guard let preset = Zoo.preset(named: backbone.model) else { throw DenseTransferError("unknown model '\(backbone.model)'") }
        let request = DenseRequest(backboneRun: backbone.key, model: backbone.model, settings: settings, seed: seed,
                                   canvasSide: preset.inputSize)
        let directory = "\(root)/dense/\(request.key)", resultPath = directory + "/result.json"
        let storePath = backbone.scale == .ci ? nil : store.map { "\($0)/dense/\(request.key).json" }
        for path in [resultPath] + (storePath.map { [$0] } ?? []) {
            if let bytes = FileManager.default.contents(atPath: path),
               let cached = try? JSONDecoder().decode(DenseResult.self, from: bytes), cached.request == request {
                return cached
            }
        }
        let started = Date()
        let checkpoint = "\(root)/\(backbone.key)/checkpoint.h5"
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw DenseTransferError("\(checkpoint) does not exist (the results store records the run, not its weights): copy that run folder from the machine that trained it, or move results/\(backbone.key).json aside to retrain it", missingWeights: true)
        }
        var rng = RandomGenerator(seed: 0)
        let model = preset.build(&rng)
        // A distilled run stores the student under "student."; a plain run stores it bare.
        let stripped = Dictionary(uniqueKeysWithValues: try Checkpoint.load(from: checkpoint).parameters.map {
            ($0.key.hasPrefix("student.") ? String($0.key.dropFirst(8)) : $0.key, $0.value)
        })
        try StateIO.load(stripped, into: model.namedTensors(), path: checkpoint)
        let normalization = data.trainSet(backbone.split)
        let transfer = try DenseTransferModel(backbone: model, inputSize: preset.inputSize, classes: preset.classes, settings: settings,
                                              seed: UInt64(seed), mean: normalization.mean, std: normalization.std)
        let sets = canvases(settings, side: preset.inputSize, seed: seed, data: data)
        log("   dense transfer \(request.key): \(backbone.model) run \(backbone.key), stage \(transfer.stage + 1), backbone \(settings.backbone), \(sets.train.count) training canvases, seed \(seed)")
        let losses = try transfer.train(sets.train, seed: UInt64(seed)) { log("   dense \(request.key) \($0)") }
        let result = DenseResult(request: request, stage: transfer.stage, stageChannels: model.stageChannels[transfer.stage],
                                 test: transfer.evaluate(sets.test), validation: transfer.evaluate(sets.validation),
                                 epochLosses: losses, wallSeconds: Date().timeIntervalSince(started))
        for warning in result.test.collapse { log("   dense \(request.key) WARNING: \(warning)") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = try enc.encode(result)
        try AtomicWrite.write(bytes, to: resultPath)
        if let storePath {
            try FileManager.default.createDirectory(atPath: (storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicWrite.write(bytes, to: storePath)
        }
        return result
    }
}
