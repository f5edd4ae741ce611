import Datasets
import Foundation
import Models
import Store
import Tables
import TestSupport
import Training
import XCTest

/// A table's paper plan trained for real through TableRunner: the smoke presets (paper
/// architectures at 64 px) on a generated ImageNet-layout JPEG folder, the teacher from a
/// timm-named safetensors file, one epoch.
final class PaperTrainingTests: XCTestCase {
    var directory: String!
    var root: String { directory + "/imagenet" }
    var teacherFile: String { directory + "/swin-smoke.safetensors" }

    let spec = """
    table: 98
    title: paper path
    source: s
    columns:
      - {id: student, header: Student, kind: label}
      - {id: params_s, header: Params S, kind: params, role: student}
      - {id: teacher_top1, header: Teacher top-1, kind: teacher_top1, role: teacher}
      - {id: baseline, header: Baseline, kind: run}
      - {id: scalekd, header: ScaleKD, kind: run}
      - {id: delta, header: Delta, kind: derived, formula: scalekd - baseline}
    plan:
      paper: {epochs: 1, seeds: 1, strategy: advanced, omitted: {pretrained: needs IN-22K}}
    rows:
      - id: r
        labels: {student: ResNet}
        models: {teacher: swin-mini-s, student: resnet-mini}
        paperModels: {teacher: swin-smoke, student: resnet-smoke}
        runs:
          baseline: {method: baseline}
          scalekd: {method: scalekd}
      - id: pretrained
        labels: {student: ResNet pre-trained}
        models: {student: resnet-mini}
        runs:
          baseline: {method: baseline, pretrain: true}
    """

    // A 3-image global batch: 8 readable training images and 2 broken ones give 3 steps, and
    // every batch holds a readable image.
    let recipes = """
    recipes:
      resnet-smoke:
        advanced: {epochs: 1, optimizer: adamw, learningRate: 1.0e-3, weightDecay: 0.05, perGPUBatch: 3, gpus: 1, schedule: "1-epoch warm-up, cosine"}
    """

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "paper-train-\(getpid())-\(UUID().uuidString.prefix(8))"
        // train/ and val/ with the same class folders (the last one empty), a truncated JPEG
        // and a text file named .jpg in each: they are skipped and named, not fatal.
        try GeneratedImageFolder.write(to: root + "/train", perClass: 4)
        try GeneratedImageFolder.write(to: root + "/val", perClass: 2)
        try spec.write(toFile: directory + "/table98.yaml", atomically: true, encoding: .utf8)
        try recipes.write(toFile: directory + "/recipes.yaml", atomically: true, encoding: .utf8)
        try WeightsFile.export(model: "swin-smoke", checkpoint: nil, seed: 1, to: teacherFile)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func runner(teachers: [String: String]? = nil, epochs: Int? = nil, limitPerClass: Int? = nil, batchSize: Int? = nil,
                scalesLearningRate: Bool = false, data: ImageFolderData? = nil) throws -> TableRunner {
        let inputs = PaperScaleInputs(data: try data ?? ImageFolderData(root: root),
                                      teachers: TeacherWeightFiles(files: teachers ?? ["swin-smoke": teacherFile]),
                                      recipes: try PaperRecipes.load(from: directory + "/recipes.yaml"),
                                      epochs: epochs, limitPerClass: limitPerClass, batchSize: batchSize,
                                      scalesLearningRate: scalesLearningRate)
        return try TableRunner(spec: try TableSpec.load(directory + "/table98.yaml"), paper: inputs,
                               cache: RunCache(root: directory + "/runs", store: nil), outputDirectory: directory + "/out")
    }

    func testPaperPlanTrainsEndToEnd() throws {
        let runner = try runner()
        let result = try runner.run()
        for column in ["baseline", "scalekd"] {
            let top1 = try XCTUnwrap(result.cells["r"]?[column]?.values.first, column)
            XCTAssertTrue(top1.isFinite && (0...100).contains(top1), "\(column): \(top1)")
        }
        XCTAssertNotNil(result.cells["r"]?["delta"])
        // The teacher's top-1 on val/, measured once and kept in the run cache.
        let teacherTop1 = try XCTUnwrap(result.cells["r"]?["teacher_top1"]?.values.first)
        XCTAssertTrue((0...100).contains(teacherTop1), "\(teacherTop1)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/runs/teacher-eval").count, 1)
        let configs = try runner.configs()
        XCTAssertEqual(configs.map(\.model), ["resnet-smoke", "resnet-smoke"])
        let scalekd = try XCTUnwrap(configs.first { $0.method != nil })
        XCTAssertEqual(scalekd.teacher, "swin-smoke")
        XCTAssertEqual(scalekd.teacherWeights, try SHA256.hexDigest(ofFile: teacherFile))
        XCTAssertEqual(scalekd.batchSize, 3)
        XCTAssertEqual(scalekd.strategy.optimizer, .adamw)
        let folders = try XCTUnwrap(scalekd.split.folders)
        XCTAssertEqual(folders.trainFileList, try ImageFolderData(root: root).trainManifest.fileListSHA256)
        XCTAssertEqual(folders.imageSize, 64)
        XCTAssertEqual(folders.interpolation, .bilinear)  // timm's for ResNet
        // What was trained and measured: every readable image, the broken ones left out.
        let run = try XCTUnwrap(RunResult.load(from: runner.cache.directory(for: scalekd) + "/result.json"))
        XCTAssertEqual(run.trainImages, 10)
        XCTAssertEqual(run.steps, 3)
        XCTAssertTrue(run.imagesPerSecond > 0)
        XCTAssertEqual(run.curve?.map(\.epoch), [1])
        let output = try String(contentsOfFile: directory + "/out/table98.md", encoding: .utf8)
        XCTAssertTrue(output.contains("ResNet"), output)
        // The row the plan omits trains nothing, and the table says why.
        XCTAssertNil(result.cells["pretrained"])
        XCTAssertTrue(output.contains("**Not run at paper scale**") && output.contains("- `pretrained`: needs IN-22K"), output)
        // The run is cached: a second runner takes it without training.
        XCTAssertNotNil(try self.runner().cache.result(for: scalekd))
    }

    func testRunKeysFollowTheDataAndTheOverrides() throws {
        let keys = try Set(runner().configs().map(\.key))
        XCTAssertEqual(keys.count, 2)
        for other in [try runner(epochs: 2), try runner(limitPerClass: 2), try runner(batchSize: 4)] {
            XCTAssertTrue(try Set(other.configs().map(\.key)).isDisjoint(with: keys))
        }
        // --scale-lr: the recipe's learning rate times batch / its global batch, another run.
        let plain = try runner(batchSize: 4).configs(), scaled = try runner(batchSize: 4, scalesLearningRate: true).configs()
        XCTAssertTrue(Set(scaled.map(\.key)).isDisjoint(with: plain.map(\.key)))
        for (p, q) in zip(plain, scaled) {  // resnet-smoke's recipe: learning rate 1e-3 at a global batch of 3
            XCTAssertEqual(p.strategy.learningRate, 1e-3, accuracy: 1e-9)
            XCTAssertEqual(q.strategy.learningRate, 1e-3 * 4 / 3, accuracy: 1e-9)
        }
        // Another copy of the data (one more training image) is another run.
        let picture = GeneratedImageFolder.image(width: 80, height: 80, label: 0, variant: 5)
        try Data(try ImageCodecs.encodeJPEG(picture)).write(to: URL(fileURLWithPath: root + "/train/\(GeneratedImageFolder.classes[0])/extra.JPEG"))
        XCTAssertTrue(try Set(runner().configs().map(\.key)).isDisjoint(with: keys))
        // Other teacher weights are another run; the baseline's key does not depend on them.
        let otherWeights = directory + "/other.safetensors"
        try WeightsFile.export(model: "swin-smoke", checkpoint: nil, seed: 2, to: otherWeights)
        let baseline = try runner().configs().filter { $0.teacher == nil }.map(\.key)
        let withOther = try runner(teachers: ["swin-smoke": otherWeights]).configs()
        XCTAssertEqual(withOther.filter { $0.teacher == nil }.map(\.key), baseline)
        XCTAssertNotEqual(withOther.first { $0.teacher != nil }?.key, try runner().configs().first { $0.teacher != nil }?.key)
    }

    /// Every teacher's weights are checked before the first run trains.
    func testMissingOrWrongTeacherWeightsAreNamed() throws {
        XCTAssertThrowsError(try runner(teachers: [:]).trainAvailable()) {
            XCTAssertTrue("\($0)".contains("swin-smoke") && "\($0)".contains("--teacher-weights"), "\($0)")
        }
        let absent = directory + "/absent.safetensors"
        XCTAssertThrowsError(try runner(teachers: ["swin-smoke": absent]).trainAvailable()) {
            XCTAssertTrue("\($0)".contains(absent) && "\($0)".contains("not found"), "\($0)")
        }
        // A head for 10 classes where the preset has 1000: the error names the tensor.
        var tensors = try SafeTensors.readSkippingIntegers(path: teacherFile).tensors
        let head = try XCTUnwrap(tensors["head.fc.weight"])
        tensors["head.fc.weight"] = NamedArray(shape: [10, head.shape[1]], values: Array(head.values.prefix(10 * head.shape[1])))
        let wrong = directory + "/wrong.safetensors"
        try SafeTensors.write(tensors, to: wrong)
        XCTAssertThrowsError(try runner(teachers: ["swin-smoke": wrong]).trainAvailable()) {
            XCTAssertTrue("\($0)".contains("head.fc.weight") && "\($0)".contains("[10, "), "\($0)")
        }
        // Nothing trained.
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/runs"))
    }

    func testMissingFoldersNameTheFlag() throws {
        XCTAssertThrowsError(try ImageFolderData(root: directory + "/nowhere")) {
            XCTAssertTrue("\($0)".contains("--data") && "\($0)".contains("nowhere"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: root + "/val")
        XCTAssertThrowsError(try ImageFolderData(root: root)) {
            XCTAssertTrue("\($0)".contains("--data") && "\($0)".contains("val/"), "\($0)")
        }
    }
}
