import Datasets
import Foundation
import Models
import Store
import Tensor

/// Weights for a zoo model from a file: timm-named safetensors (`scalekd export`, or a
/// timm checkpoint converted to safetensors) or one of the suite's HDF5 checkpoints (a
/// run's checkpoint.h5, whose distilled student sits under "student.", or a teacher's).
public enum WeightsFile {
    public static func load(_ path: String, into model: ImageClassifier) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError("\(path): weights file not found (give a .safetensors file or a checkpoint .h5)")
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "safetensors":
            try Timm.load(path: path, into: model)
        case "h5":
            try StateIO.load(modelParameters(of: try Checkpoint.load(from: path).parameters), into: model.namedTensors(), path: path)
        default:
            throw InputError("\(path): unknown weights format; give a .safetensors file (timm names) or a checkpoint .h5")
        }
    }

    /// A checkpoint's model tensors: a distilled run's "student." ones with the prefix
    /// stripped (its projectors are training-only), else all of them.
    public static func modelParameters(of parameters: [String: NamedArray]) -> [String: NamedArray] {
        let prefix = "student."
        guard parameters.keys.contains(where: { $0.hasPrefix(prefix) }) else { return parameters }
        return Dictionary(uniqueKeysWithValues: parameters.compactMap { key, value in
            key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
        })
    }
}

/// Top-1 / top-5 of a model on an image folder (eval transform), with a progress line.
public enum FolderEvaluation {
    public struct Result: Sendable {
        public var top1: Double
        public var top5: Double
        public var images: Int
        public var skipped: [(path: String, reason: String)]
        public var seconds: Double
        public var imagesPerSecond: Double { Double(images) / max(seconds, 1e-9) }
    }

    /// Evaluates the first `limit` images in file order (all when nil). `progress` gets a
    /// line after each batch: images done, images/s, ETA.
    public static func run(_ model: ImageClassifier, batches: ImageFolderBatches, batchSize: Int, limit: Int? = nil,
                           progress: (String) -> Void = { _ in }) throws -> Result {
        precondition(batchSize > 0, "batch size must be positive")
        model.setTraining(false)
        let order = batches.order(epoch: 0, seed: 0, limit: limit)
        let classes = batches.folder.classes.count
        var hit1 = 0, hit5 = 0, seen = 0
        var skipped = [(path: String, reason: String)]()
        let start = Date()
        for first in stride(from: 0, to: order.count, by: batchSize) {
            let batch = try batches.batch(Array(order[first..<min(first + batchSize, order.count)]))
            skipped += batch.skipped
            if batch.count > 0 {
                let size = batches.transform.size
                let logits = withoutGrad { model(Tensor(shape: [batch.count, 3, size, size], values: batch.images)) }
                let c = logits.shape[1]
                guard c >= classes else {
                    throw InputError("the model has \(c) outputs but \(batches.folder.root) has \(classes) class folders")
                }
                let p = logits.pointer
                for i in 0..<batch.count {
                    let rank = Trainer.rank(of: batch.labels[i], in: UnsafeBufferPointer(start: p + i * c, count: c))
                    if rank == 0 { hit1 += 1 }
                    if rank < 5 { hit5 += 1 }
                }
                seen += batch.count
            }
            let done = min(first + batchSize, order.count), elapsed = Date().timeIntervalSince(start)
            let speed = Double(done) / max(elapsed, 1e-9)
            progress(String(format: "eval %d/%d images | top-1 %.2f%% top-5 %.2f%% so far | %.1f images/s | ETA %@",
                            done, order.count, 100 * Double(hit1) / Double(max(seen, 1)), 100 * Double(hit5) / Double(max(seen, 1)),
                            speed, formatDuration(Double(order.count - done) / max(speed, 1e-9))))
        }
        return Result(top1: 100 * Double(hit1) / Double(max(seen, 1)), top5: 100 * Double(hit5) / Double(max(seen, 1)),
                      images: seen, skipped: skipped, seconds: Date().timeIntervalSince(start))
    }
}

extension WeightsFile {
    /// Writes a preset's weights under timm's names: from a checkpoint (.h5: a run's, with
    /// a distilled student's "student." prefix stripped, or a teacher's), else freshly
    /// initialised with `seed`. Presets that no timm model computes throw
    /// `TimmUnsupportedError` saying why. Returns the timm class.
    @discardableResult
    public static func export(model name: String, checkpoint: String?, seed: UInt64, to path: String) throws -> Timm.Architecture {
        let model = try buildModel(name, seed: seed)
        let architecture = try Timm.architecture(of: model)
        if let checkpoint { try load(checkpoint, into: model) }
        try Timm.save(model, to: path, metadata: ["scalekd_model": name, "timm_class": architecture.rawValue,
                                                  "source": checkpoint ?? "random init, seed \(seed)"])
        return architecture
    }
}
