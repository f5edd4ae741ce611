import XCTest
@testable import Datasets

final class FashionMNISTLoaderTests: XCTestCase {
    var synthetic: SyntheticFashionMNIST!

    override func setUpWithError() throws { synthetic = try SyntheticFashionMNIST() }
    override func tearDown() { synthetic.remove() }

    /// Asserts that loading fails with exactly `expected`.
    func assertLoadFails(verifyHashes: Bool = false, _ expected: (DataError) -> Bool,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try FashionMNIST.load(manifest: synthetic.manifest, verifyHashes: verifyHashes),
                             file: file, line: line) { error in
            guard let e = error as? DataError else { return XCTFail("not a DataError: \(error)", file: file, line: line) }
            XCTAssertTrue(expected(e), "unexpected error: \(e)", file: file, line: line)
        }
    }

    func testSyntheticLoadsWithHashes() throws {
        let data = try FashionMNIST.load(manifest: synthetic.manifest, verifyHashes: true)
        XCTAssertEqual(data.train.count, 60)
        XCTAssertEqual(data.test.count, 20)
        XCTAssertEqual(data.train.labels.prefix(3), [0, 1, 2])
        XCTAssertEqual(data.train.size, 32)
    }

    func testMissingPackageSaysHowToInstall() {
        synthetic.manifest.directory = "/nonexistent/fashion-mnist"
        assertLoadFails {
            guard case let .packageMissing(dir, hint) = $0 else { return false }
            return dir == "/nonexistent/fashion-mnist" && hint.contains("apt-get install dataset-fashion-mnist")
                && $0.description.contains("make setup")
        }
    }

    func testMissingFile() throws {
        try FileManager.default.removeItem(atPath: synthetic.path("t10k-labels-idx1-ubyte.gz"))
        assertLoadFails { $0 == .fileNotFound(path: self.synthetic.path("t10k-labels-idx1-ubyte.gz")) }
    }

    func testWrongHash() throws {
        var bytes = synthetic.bytes("train-labels-idx1-ubyte.gz")
        bytes[bytes.count / 2] ^= 0xFF
        try synthetic.overwrite("train-labels-idx1-ubyte.gz", with: bytes)
        assertLoadFails(verifyHashes: true) {
            guard case let .hashMismatch(path, expected, actual) = $0 else { return false }
            return path.hasSuffix("train-labels-idx1-ubyte.gz") && expected == self.synthetic.manifest.trainLabels.sha256
                && actual == SHA256.hexDigest(bytes)
        }
    }

    func testBadMagic() throws {
        var idx = IDXArray(shape: [60, 28, 28], bytes: [UInt8](repeating: 0, count: 60 * 784)).encoded()
        idx[2] = 0x0D  // float data instead of unsigned bytes
        try synthetic.overwrite("train-images-idx3-ubyte.gz", with: Gzip.compress(idx))
        assertLoadFails {
            $0 == .badMagic(path: self.synthetic.path("train-images-idx3-ubyte.gz"), expected: 0x803, found: 0xD03)
        }
    }

    func testLabelsFileGivenForImagesHasBadMagic() throws {
        try synthetic.overwrite("train-images-idx3-ubyte.gz", with: synthetic.bytes("train-labels-idx1-ubyte.gz"))
        assertLoadFails { if case .badMagic(_, 0x803, 0x801) = $0 { return true } else { return false } }
    }

    func testTruncatedGzip() throws {
        let bytes = synthetic.bytes("train-images-idx3-ubyte.gz")
        try synthetic.overwrite("train-images-idx3-ubyte.gz", with: Array(bytes.prefix(bytes.count / 2)))
        assertLoadFails { $0 == .truncatedGzip(path: self.synthetic.path("train-images-idx3-ubyte.gz")) }
    }

    func testTruncatedPayload() throws {
        // A complete gzip stream whose IDX header promises more images than it holds.
        let idx = IDXArray(shape: [60, 28, 28], bytes: [UInt8](repeating: 0, count: 60 * 784)).encoded()
        try synthetic.overwrite("train-images-idx3-ubyte.gz", with: Gzip.compress(Array(idx.dropLast(100))))
        assertLoadFails {
            $0 == .truncated(path: self.synthetic.path("train-images-idx3-ubyte.gz"),
                             expectedBytes: 16 + 60 * 784, actualBytes: 16 + 60 * 784 - 100)
        }
    }

    /// Bytes after the payload the header promises are refused, not ignored.
    func testTrailingBytesAfterIDXPayload() {
        let header: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3]
        XCTAssertEqual(try IDXArray.parse(header + [1, 2, 3], dimensions: 1, path: "x.idx").bytes, [1, 2, 3])
        XCTAssertThrowsError(try IDXArray.parse(header + [1, 2, 3, 9], dimensions: 1, path: "x.idx")) { error in
            XCTAssertEqual(error as? DataError, .trailingBytes(path: "x.idx", expectedBytes: 11, actualBytes: 12))
            XCTAssertTrue("\(error)".contains("1 bytes after the IDX data"), "\(error)")
        }
    }

    func testNotGzip() throws {
        try synthetic.overwrite("t10k-images-idx3-ubyte.gz", with: Array("plain text, not gzip".utf8))
        assertLoadFails { $0 == .notGzip(path: self.synthetic.path("t10k-images-idx3-ubyte.gz")) }
    }

    func testCountMismatch() throws {
        try synthetic.overwrite("train-labels-idx1-ubyte.gz",
                                with: Gzip.compress(IDXArray(shape: [59], bytes: [UInt8](repeating: 1, count: 59)).encoded()))
        assertLoadFails {
            $0 == .countMismatch(imagesPath: self.synthetic.path("train-images-idx3-ubyte.gz"), images: 60,
                                 labelsPath: self.synthetic.path("train-labels-idx1-ubyte.gz"), labels: 59)
        }
    }

    func testErrorMessagesNameTheFile() {
        let e = DataError.truncatedGzip(path: "/x/train-images-idx3-ubyte.gz")
        XCTAssertTrue(e.localizedDescription.contains("/x/train-images-idx3-ubyte.gz"))
        XCTAssertTrue(e.localizedDescription.contains("truncated"))
    }

    func testManifestParserErrors() {
        XCTAssertThrowsError(try FlatManifest(text: "a: 1\nno colon here\n", path: "m.yaml")) {
            XCTAssertEqual($0 as? DataError, .manifest(path: "m.yaml", reason: "line 2 is not `key: value`"))
        }
        XCTAssertThrowsError(try FashionMNISTManifest(FlatManifest(text: "directory: /x # comment", path: "m.yaml"))) {
            XCTAssertEqual($0 as? DataError, .manifest(path: "m.yaml", reason: "missing key `install`"))
        }
        let m = try? FlatManifest(text: "# c\n\nkey: \"quoted: value\"\n", path: "m.yaml")
        XCTAssertEqual(m?.values, ["key": "quoted: value"])
    }

    func testPaddingAndNormalization() throws {
        let data = try FashionMNIST.load(manifest: synthetic.manifest, verifyHashes: false)
        let image = data.train.normalizedImage(at: 3)
        let raw = data.train.pixels[3 * 784 + 5 * 28 + 7]
        let background = (0 - data.train.mean) / data.train.std
        XCTAssertEqual(image.count, 1024)
        XCTAssertEqual(image[0], background, accuracy: 1e-6)
        XCTAssertEqual(image[1 * 32 + 31], background, accuracy: 1e-6)
        XCTAssertEqual(image[(5 + 2) * 32 + 7 + 2], (Float(raw) / 255 - 0.5) / 0.29, accuracy: 1e-5)
    }
}

/// The real dataset from Debian's package, checked against data-manifests/fashion-mnist.yaml.
final class FashionMNISTRealDataTests: XCTestCase {
    static let manifestPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data-manifests/fashion-mnist.yaml").path

    func testRealDataMatchesManifest() throws {
        let manifest = try FashionMNISTManifest.load(from: Self.manifestPath)
        guard FileManager.default.fileExists(atPath: manifest.directory) else {
            throw XCTSkip("dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
        }
        let data = try FashionMNIST.load(manifest: manifest, verifyHashes: true)
        XCTAssertEqual(data.validationSet.count, 5000)
        XCTAssertEqual(data.teacherPretrainSet.count, 55000)
        XCTAssertEqual(data.validationSet.indexListSHA256, manifest.validationSHA256,
                       "manifest validation_sha256 should be \(data.validationSet.indexListSHA256)")
        // No image is in both the validation split and the pre-training set (nor the student subset drawn from it).
        XCTAssertTrue(Set(data.validationSet.sourceIndices).isDisjoint(with: data.teacherPretrainSet.sourceIndices))
        XCTAssertEqual(data.testSet.count, 10000)
        let stats = ImageDataset.pixelStatistics(data.train.pixels)
        XCTAssertEqual(stats.mean, manifest.pixelMean, accuracy: 1e-5, "manifest pixel_mean should be \(stats.mean)")
        XCTAssertEqual(stats.std, manifest.pixelStd, accuracy: 1e-5, "manifest pixel_std should be \(stats.std)")

        let student = data.studentSubset(perClass: manifest.studentSubsetPerClass, seed: manifest.studentSubsetSeed)
        XCTAssertEqual(student.count, 1000)
        XCTAssertEqual(Dictionary(grouping: student.labels, by: { $0 }).mapValues(\.count),
                       Dictionary(uniqueKeysWithValues: (0..<10).map { ($0, 100) }))
        XCTAssertEqual(student.indexListSHA256, manifest.studentSubsetSHA256,
                       "manifest student_subset_sha256 should be \(student.indexListSHA256)")
        XCTAssertTrue(Set(data.validationSet.sourceIndices).isDisjoint(with: student.sourceIndices))
        XCTAssertEqual(data.ciTrainSet().count, 200)
        XCTAssertEqual(data.ciValidationSet().count, 200)
        XCTAssertEqual(data.ciTestSet().count, 500)
        XCTAssertEqual(data.ciTestSet().sourceIndices.max()! < 10000, true)
    }
}
