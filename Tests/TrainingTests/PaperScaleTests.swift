import Datasets
import Models
import Store
import Tensor
import TestSupport
import XCTest
@testable import Training

/// `scalekd eval` and `scalekd export` end to end on a generated JPEG folder, with
/// mobilenet-v1 (the smallest paper preset: 0.57 GMACs at 224).
final class PaperScaleTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "paper-scale-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func testRankCountsTiesAgainstTheLabel() {
        func rank(_ label: Int, _ logits: [Float]) -> Int { logits.withUnsafeBufferPointer { Trainer.rank(of: label, in: $0) } }
        XCTAssertEqual(rank(2, [0, 1, 5, 3]), 0)
        XCTAssertEqual(rank(0, [0, 1, 5, 3]), 3)
        XCTAssertEqual(rank(1, [1, 1, 1]), 2)
        XCTAssertEqual(rank(0, [.nan, 1]), 1)
    }

    func testExportRoundTripsThroughTimmNames() throws {
        let path = directory + "/mobilenet.safetensors"
        XCTAssertEqual(try WeightsFile.export(model: "mobilenet-v1", checkpoint: nil, seed: 7, to: path), .mobileNetV1)
        let expected = try buildModel("mobilenet-v1", seed: 7), loaded = try buildModel("mobilenet-v1", seed: 8)
        XCTAssertNotEqual(loaded.namedTensors()[0].1.values, expected.namedTensors()[0].1.values)
        try Timm.load(path: path, into: loaded)
        for ((name, a), (_, b)) in zip(expected.namedTensors(), loaded.namedTensors()) { XCTAssertEqual(a.values, b.values, name) }
        let file = try SafeTensors.readSkippingIntegers(path: path)
        XCTAssertNotNil(file.tensors["conv_stem.weight"], "timm's name for the stem")
    }

    func testExportOfADistilledRunStripsTheStudentPrefix() throws {
        let student = try buildModel("mobilenet-v1", seed: 3)
        var params = [String: NamedArray]()
        for (name, t) in student.namedTensors() { params["student." + name] = NamedArray(shape: t.shape, values: t.values) }
        params["projectors.0.weight"] = NamedArray(shape: [2], values: [1, 2])
        let checkpoint = directory + "/checkpoint.h5", out = directory + "/student.safetensors"
        try Checkpoint(parameters: params, epoch: 1, step: 1, configJSON: "{}").save(to: checkpoint)
        try WeightsFile.export(model: "mobilenet-v1", checkpoint: checkpoint, seed: 0, to: out)
        let loaded = try buildModel("mobilenet-v1", seed: 0)
        try Timm.load(path: out, into: loaded)
        for ((name, a), (_, b)) in zip(student.namedTensors(), loaded.namedTensors()) { XCTAssertEqual(a.values, b.values, name) }
    }

    func testExportOfAPresetTimmCannotBuildSaysWhy() throws {
        XCTAssertThrowsError(try WeightsFile.export(model: "resnet-mini", checkpoint: nil, seed: 0, to: directory + "/x.safetensors")) {
            XCTAssertTrue("\($0)".contains("no timm counterpart"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/x.safetensors"))
    }

    func testEvalOnAGeneratedFolderEndToEnd() throws {
        let root = directory + "/images"
        let broken = try GeneratedImageFolder.write(to: root, perClass: 3)
        let weights = directory + "/w.safetensors"
        try WeightsFile.export(model: "mobilenet-v1", checkpoint: nil, seed: 1, to: weights)
        let model = try buildModel("mobilenet-v1", seed: 99)
        try WeightsFile.load(weights, into: model)
        let batches = ImageFolderBatches(folder: try FolderDataset(root: root), transform: .eval())
        var lines: [String] = []
        let r = try FolderEvaluation.run(model, batches: batches, batchSize: 3) { lines.append($0) }
        XCTAssertEqual(r.images, 6)
        XCTAssertEqual(Set(r.skipped.map(\.path)), [broken.truncated, broken.notAnImage])
        XCTAssertTrue((0...100).contains(r.top1) && r.top5 >= r.top1)
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines.last!.hasPrefix("eval 8/8 images") && lines.last!.contains("images/s") && lines.last!.contains("ETA"), lines.last!)
        // --limit: the first images in file order.
        XCTAssertEqual(try FolderEvaluation.run(model, batches: batches, batchSize: 2, limit: 2).images, 2)
    }

    func testWeightsFileRejectsUnknownFormats() throws {
        let path = directory + "/w.bin"
        try Data([0]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try WeightsFile.load(path, into: buildModel("mobilenet-v1", seed: 0))) {
            XCTAssertTrue("\($0)".contains(path) && "\($0)".contains(".safetensors"), "\($0)")
        }
    }

    /// The folder split is a new case of DataSplit: every committed Fashion-MNIST run still
    /// encodes to the key it was recorded under, so no finished run is trained again.
    func testCommittedRunKeysAreUnchanged() throws {
        let results = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("results").path
        let files = try FileManager.default.contentsOfDirectory(atPath: results).filter { $0.hasSuffix(".json") }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let record = try XCTUnwrap(RunRecord.load(from: results + "/" + file), file)
            XCTAssertEqual(record.config.key, record.result.key, file)
            XCTAssertNil(record.config.split.folders)
        }
    }
}
