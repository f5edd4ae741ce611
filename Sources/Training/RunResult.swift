import Foundation

/// Validation top-1 of one evaluated epoch (1-based); test top-1 at the last epoch only:
/// the test split is read for the reported number, never to watch training.
public struct EpochEvaluation: Codable, Equatable {
    public var epoch: Int
    public var validationTop1: Double
    public var testTop1: Double?

    public init(epoch: Int, validationTop1: Double, testTop1: Double? = nil) {
        self.epoch = epoch; self.validationTop1 = validationTop1; self.testTop1 = testTop1
    }
}

/// What a finished run reports. Accuracy is of the LAST epoch's weights (never the best epoch).
public struct RunResult: Codable {
    public var key: String
    public var top1: Double
    public var top5: Double
    /// Validation top-1 of the last epoch's weights (recipes are chosen on it).
    public var validationTop1: Double? = nil
    /// Validation and test top-1 at the evaluated epochs (`Trainer.evaluatedEpochs`).
    public var curve: [EpochEvaluation]? = nil
    /// The code, engine version and machine that produced the run.
    public var provenance: Provenance? = nil
    public var testImages: Int
    public var trainImages: Int
    public var epochs: Int
    public var steps: Int
    public var wallSeconds: Double
    public var imagesPerSecond: Double
    public var finalLosses: [String: Double]
    public var protocolNote = "top-1/top-5 of the last epoch's weights on the test split"

    /// Reads the result of a run directory (nil when missing or unreadable).
    public static func load(from path: String) -> RunResult? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(RunResult.self, from: d)
    }

    public init(key: String, top1: Double, top5: Double, testImages: Int, trainImages: Int, epochs: Int, steps: Int,
                wallSeconds: Double, imagesPerSecond: Double, finalLosses: [String: Double]) {
        self.key = key; self.top1 = top1; self.top5 = top5; self.testImages = testImages; self.trainImages = trainImages
        self.epochs = epochs; self.steps = steps; self.wallSeconds = wallSeconds
        self.imagesPerSecond = imagesPerSecond; self.finalLosses = finalLosses
    }
}
