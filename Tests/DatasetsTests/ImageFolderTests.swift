import Tensor
import TestSupport
import XCTest
@testable import Datasets

final class ImageFolderTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws { root = NSTemporaryDirectory() + "image-folder-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testJPEGRoundTripIsClose() throws {
        let original = GeneratedImageFolder.image(width: 64, height: 48, label: 1, variant: 0)
        let decoded = try ImageCodecs.decode(try ImageCodecs.encodeJPEG(original, quality: 95), path: "x.jpg")
        XCTAssertEqual(decoded.width, 64)
        XCTAssertEqual(decoded.height, 48)
        let meanError = zip(original.pixels, decoded.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / original.pixels.count
        XCTAssertLessThan(meanError, 4)
    }

    func testPNGDecodesExactly() throws {
        let original = GeneratedImageFolder.image(width: 33, height: 17, label: 2, variant: 1)
        XCTAssertEqual(try ImageCodecs.decode(try ImageCodecs.encodePNG(original), path: "x.png"), original)
    }

    func testBrokenFilesNameTheFileAndTheReason() throws {
        let broken = try GeneratedImageFolder.write(to: root)
        for path in [broken.truncated, broken.notAnImage] {
            XCTAssertThrowsError(try ImageCodecs.decode(path: path)) { error in
                guard case let .corruptImage(p, reason)? = error as? DataError else { return XCTFail("\(error)") }
                XCTAssertEqual(p, path)
                XCTAssertFalse(reason.isEmpty)
                XCTAssertTrue("\(error)".contains(path))
            }
        }
    }

    func testEvalTransformCentersTheCropAndNormalizes() throws {
        // 512 x 256: Resize(256) keeps it, CenterCrop(224) starts at x = 144, y = 16; the
        // red channel is x / 2, so the crop's first column is 72.
        var pixels = [UInt8](repeating: 0, count: 512 * 256 * 3)
        for y in 0..<256 { for x in 0..<512 { pixels[(y * 512 + x) * 3] = UInt8(x / 2); pixels[(y * 512 + x) * 3 + 1] = 128 } }
        let t = ImageNetTransform.eval()
        var out = [Float](repeating: .nan, count: t.floatsPerImage)
        var rng = RandomGenerator(seed: 0)
        out.withUnsafeMutableBufferPointer { t.apply(to: RGBImage(width: 512, height: 256, pixels: pixels), rng: &rng, into: $0) }
        let plane = 224 * 224
        XCTAssertEqual(out[0], (72 / 255 - 0.485) / 0.229, accuracy: 1e-4)
        XCTAssertEqual(out[223], (Float((144 + 223) / 2) / 255 - 0.485) / 0.229, accuracy: 1e-4)
        XCTAssertEqual(out[plane + 5000], (128 / 255 - 0.456) / 0.224, accuracy: 1e-4)
        XCTAssertEqual(out[2 * plane + 77], (0 - 0.406) / 0.225, accuracy: 1e-4)
    }

    func testDownscaleAveragesLikeAnAntialiasedResize() throws {
        // A 1-pixel checkerboard shrunk 4x must come out mid-grey, not aliased to black or white.
        var pixels = [UInt8](repeating: 0, count: 1024 * 1024 * 3)
        for y in 0..<1024 { for x in 0..<1024 where (x + y) % 2 == 0 { for c in 0..<3 { pixels[(y * 1024 + x) * 3 + c] = 255 } } }
        var out = [Float](repeating: 0, count: 3 * 64 * 64)
        out.withUnsafeMutableBufferPointer {
            ImageNetTransform.resample(RGBImage(width: 1024, height: 1024, pixels: pixels), box: (0, 0, 1024, 1024), width: 64, height: 64, into: $0)
        }
        for v in out.prefix(64 * 64) { XCTAssertEqual(v, 0.5, accuracy: 0.02) }
    }

    /// PIL's own output (tools/make_resize_fixtures.py): our float result, before PIL's final
    /// rounding to uint8, lies within one level of PIL's (a tie in the rounded horizontal pass
    /// can fall the other way under PIL's 22-bit fixed-point coefficients) and within half a
    /// level on average.
    func testResampleMatchesPILBilinearAndBicubic() throws {
        let (w, h) = resizeFixtureSize
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { pixels[(y * w + x) * 3 + c] = UInt8((x * 37 + y * 91 + c * 53 + x * y * 7) % 256) } } }
        let image = RGBImage(width: w, height: h, pixels: pixels)
        for f in resizeFixtures {
            let filter = try XCTUnwrap(ImageNetTransform.Interpolation(rawValue: f.filter))
            var out = [Float](repeating: .nan, count: 3 * f.width * f.height)
            out.withUnsafeMutableBufferPointer {
                ImageNetTransform.resample(image, box: f.box, width: f.width, height: f.height, filter: filter, into: $0)
            }
            let errors = zip(out, f.pixels).map { abs($0 * 255 - Float($1)) }
            XCTAssertLessThanOrEqual(errors.max()!, 1, "\(f.filter) \(f.width)x\(f.height) box \(f.box)")
            XCTAssertLessThan(errors.reduce(0, +) / Float(errors.count), 0.3, "\(f.filter) \(f.width)x\(f.height) box \(f.box)")
        }
    }

    func testTrainTransformIsSeededAndStaysInsideTheImage() throws {
        let image = GeneratedImageFolder.image(width: 300, height: 200, label: 0, variant: 0)
        let t = ImageNetTransform.train(augmentation: .advanced)
        func run(_ seed: UInt64) -> [Float] {
            var out = [Float](repeating: .nan, count: t.floatsPerImage)
            var rng = RandomGenerator(seed: seed, stream: 0, 3)
            out.withUnsafeMutableBufferPointer { t.apply(to: image, rng: &rng, into: $0) }
            return out
        }
        XCTAssertEqual(run(1), run(1))
        XCTAssertNotEqual(run(1), run(2))
        XCTAssertTrue(run(3).allSatisfy(\.isFinite))
        var rng = RandomGenerator(seed: 5)
        for _ in 0..<200 {
            let (x, y, w, h) = ImageNetTransform.randomResizedCropBox(width: 300, height: 200, rng: &rng)
            XCTAssertTrue(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 300 && y + h <= 200, "\((x, y, w, h))")
            XCTAssertGreaterThanOrEqual(w * h, 0.08 * 300 * 200 - 300)
        }
    }

    func testManifestCountsEmptyClassAndHashesTheFileList() throws {
        try GeneratedImageFolder.write(to: root)
        let folder = try FolderDataset(root: root)
        let manifest = folder.manifest
        XCTAssertEqual(manifest.classes, GeneratedImageFolder.classes)
        XCTAssertEqual(manifest.countPerClass, [5, 5, 0])
        XCTAssertEqual(manifest.emptyClasses, ["n01484850"])
        XCTAssertEqual(manifest.fileListSHA256.count, 64)
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(root!)/n01484850/new.jpg"))
        XCTAssertNotEqual(try FolderDataset(root: root).manifest.fileListSHA256, manifest.fileListSHA256)
        XCTAssertEqual(folder.limited(perClass: 2).manifest.countPerClass, [2, 2, 0])
    }

    func testSkipPolicyLeavesBrokenFilesOutAndReportsThem() throws {
        let broken = try GeneratedImageFolder.write(to: root)
        let folder = try FolderDataset(root: root)
        let batches = ImageFolderBatches(folder: folder, transform: .eval(), policy: .skip)
        let batch = try batches.batch(batches.order(epoch: 0, seed: 0))
        XCTAssertEqual(batch.count, 8)
        XCTAssertEqual(batch.images.count, 8 * 3 * 224 * 224)
        XCTAssertEqual(batch.labels, [0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(Set(batch.skipped.map(\.path)), [broken.truncated, broken.notAnImage])
        XCTAssertTrue(batch.images.allSatisfy(\.isFinite))
    }

    func testFailPolicyNamesTheFirstBrokenFile() throws {
        let broken = try GeneratedImageFolder.write(to: root)
        let folder = try FolderDataset(root: root)
        let batches = ImageFolderBatches(folder: folder, transform: .train(), policy: .fail)
        XCTAssertThrowsError(try batches.batch(Array(0..<folder.count))) { error in
            guard case let .corruptImage(path, _)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, broken.truncated)
        }
    }

    /// A folder as the trainer's image source: a resumed epoch sees the same batches, a
    /// data-parallel share is those rows of them, broken files are named, and evaluation
    /// covers every file once in order.
    func testFolderImagesServeResumableBatches() throws {
        let broken = try GeneratedImageFolder.write(to: root, perClass: 4)
        let images = FolderImages(folder: try FolderDataset(root: root), name: "generated", size: 32, evaluationResize: 36,
                                  interpolation: .bilinear)
        XCTAssertEqual(images.count, 10)
        XCTAssertEqual(images.trainingSteps(batchSize: 4), 2)
        func epoch(from step: Int, rows: Range<Int>? = nil) -> [Batch] {
            Array(images.trainingBatches(batchSize: 4, epoch: 1, seed: 7, augmentation: .advanced, startStep: step, rows: rows))
        }
        let full = epoch(from: 0)
        XCTAssertEqual(full.count, 2)
        XCTAssertEqual(epoch(from: 1), Array(full[1...]))
        let share = epoch(from: 0, rows: 2..<4)[0], whole = full[0]
        XCTAssertEqual(share.indices, Array(whole.indices.suffix(share.count)))
        XCTAssertEqual(share.images, Array(whole.images.suffix(share.images.count)))
        for batch in full {
            XCTAssertEqual(batch.images.count, batch.count * 3 * 32 * 32)
            XCTAssertEqual(batch.count + batch.skipped.count, 4)
        }
        let evaluation = Array(images.evaluationBatches(batchSize: 4))
        XCTAssertEqual(evaluation.map(\.step), [0, 1, 2])
        XCTAssertEqual(evaluation.flatMap(\.indices).count + evaluation.flatMap(\.skipped).count, 10)
        XCTAssertEqual(Set(evaluation.flatMap(\.skipped).map { String($0.prefix { $0 != ":" }) }), [broken.truncated, broken.notAnImage])
    }
}
