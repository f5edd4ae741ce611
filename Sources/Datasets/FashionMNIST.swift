import Foundation

/// What data-manifests/fashion-mnist.yaml records: where the files are, their SHA-256,
/// shapes and counts, the normalization statistics and the default student subset.
public struct FashionMNISTManifest: Equatable, Sendable {
    public struct File: Equatable, Sendable {
        public var name: String
        public var sha256: String
    }

    public var directory: String
    public var install: String
    public var trainImages: File
    public var trainLabels: File
    public var testImages: File
    public var testLabels: File
    public var trainCount: Int
    public var testCount: Int
    public var imageHeight: Int
    public var imageWidth: Int
    public var paddedSize: Int
    public var classNames: [String]
    public var pixelMean: Float
    public var pixelStd: Float
    public var validationPerClass: Int
    public var validationSeed: UInt64
    public var validationSHA256: String
    public var studentSubsetPerClass: Int
    public var studentSubsetSeed: UInt64
    public var studentSubsetSHA256: String

    public static let fileName = "fashion-mnist.yaml"

    public init(_ m: FlatManifest) throws {
        func file(_ key: String) throws -> File { File(name: try m.string("\(key)_file"), sha256: try m.string("\(key)_sha256")) }
        directory = try m.string("directory")
        install = try m.string("install")
        trainImages = try file("train_images")
        trainLabels = try file("train_labels")
        testImages = try file("test_images")
        testLabels = try file("test_labels")
        trainCount = try m.int("train_count")
        testCount = try m.int("test_count")
        imageHeight = try m.int("image_height")
        imageWidth = try m.int("image_width")
        paddedSize = try m.int("padded_size")
        classNames = try m.string("class_names").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        pixelMean = try m.float("pixel_mean")
        pixelStd = try m.float("pixel_std")
        validationPerClass = try m.int("validation_per_class")
        validationSeed = UInt64(try m.int("validation_seed"))
        validationSHA256 = try m.string("validation_sha256")
        studentSubsetPerClass = try m.int("student_subset_per_class")
        studentSubsetSeed = UInt64(try m.int("student_subset_seed"))
        studentSubsetSHA256 = try m.string("student_subset_sha256")
        guard pixelStd > 0 else { throw DataError.manifest(path: m.path, reason: "pixel_std must be positive") }
    }

    public static func load(from path: String) throws -> FashionMNISTManifest {
        try FashionMNISTManifest(FlatManifest(contentsOf: path))
    }

    /// data-manifests/fashion-mnist.yaml in the current directory or an ancestor.
    public static func locate() throws -> FashionMNISTManifest {
        guard let path = FlatManifest.locate(fileName) else {
            throw DataError.fileNotFound(path: "data-manifests/\(fileName) (searched from \(FileManager.default.currentDirectoryPath) upwards)")
        }
        return try load(from: path)
    }
}

/// Fashion-MNIST read straight from Debian's `dataset-fashion-mnist` files (IDX + gzip),
/// checked against the manifest, and the splits of the small-scale analog of the paper:
/// a 5k validation split held out of the 60k, the other 55k for teacher pre-training, a 1k
/// class-balanced student subset of those, the 10k test set.
public struct FashionMNIST: Sendable {
    public let manifest: FashionMNISTManifest
    public let train: ImageDataset
    public let test: ImageDataset

    /// Loads and checks all four files. `directory` overrides the manifest's (tests use
    /// synthetic files); `verifyHashes: false` skips SHA-256 checks for such files.
    public static func load(manifest: FashionMNISTManifest, directory: String? = nil,
                            verifyHashes: Bool = true) throws -> FashionMNIST {
        let dir = directory ?? manifest.directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.packageMissing(directory: dir, hint: "`sudo \(manifest.install)` (or `make setup`)")
        }
        func split(_ images: FashionMNISTManifest.File, _ labels: FashionMNISTManifest.File,
                   count: Int, name: String) throws -> ImageDataset {
            let imagesPath = (dir as NSString).appendingPathComponent(images.name)
            let labelsPath = (dir as NSString).appendingPathComponent(labels.name)
            let imageArray = try readIDX(imagesPath, dimensions: 3, sha256: verifyHashes ? images.sha256 : nil)
            let labelArray = try readIDX(labelsPath, dimensions: 1, sha256: verifyHashes ? labels.sha256 : nil)
            let imageShape = [imageArray.shape[0], manifest.imageHeight, manifest.imageWidth]
            guard imageArray.shape == imageShape else {
                throw DataError.unexpectedShape(path: imagesPath, expected: imageShape, found: imageArray.shape)
            }
            guard imageArray.shape[0] == labelArray.shape[0] else {
                throw DataError.countMismatch(imagesPath: imagesPath, images: imageArray.shape[0],
                                              labelsPath: labelsPath, labels: labelArray.shape[0])
            }
            guard imageArray.shape[0] == count else {
                throw DataError.unexpectedShape(path: imagesPath, expected: [count, manifest.imageHeight, manifest.imageWidth],
                                                found: imageArray.shape)
            }
            let classes = manifest.classNames.count
            let labels = labelArray.bytes.map(Int.init)
            if let bad = labels.firstIndex(where: { $0 >= classes }) {
                throw DataError.labelOutOfRange(path: labelsPath, index: bad, label: labels[bad], classes: classes)
            }
            return ImageDataset(name: name, classNames: manifest.classNames, pixels: imageArray.bytes, labels: labels,
                                height: manifest.imageHeight, width: manifest.imageWidth, size: manifest.paddedSize,
                                mean: manifest.pixelMean, std: manifest.pixelStd)
        }
        let train = try split(manifest.trainImages, manifest.trainLabels, count: manifest.trainCount,
                              name: "fashion-mnist-train")
        let test = try split(manifest.testImages, manifest.testLabels, count: manifest.testCount,
                             name: "fashion-mnist-test")
        return FashionMNIST(manifest: manifest, train: train, test: test)
    }

    /// Reads a gzipped IDX file, checking its SHA-256 first when `sha256` is given.
    public static func readIDX(_ path: String, dimensions: Int, sha256: String?) throws -> IDXArray {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or I/O error")
        }
        let bytes = [UInt8](data)
        if let expected = sha256 {
            let actual = SHA256.hexDigest(bytes)
            guard actual == expected.lowercased() else { throw DataError.hashMismatch(path: path, expected: expected, actual: actual) }
        }
        return try IDXArray.parse(Gzip.decompress(bytes, path: path), dimensions: dimensions, path: path)
    }

    /// The held-out validation split: `manifest.validationPerClass` images of each class of
    /// the 60k training file, chosen by `manifest.validationSeed`. No teacher or student
    /// trains on it; every recipe choice is made on it.
    public var validationSet: ImageDataset {
        train.classBalancedSubset(perClass: manifest.validationPerClass, seed: manifest.validationSeed,
                                  name: "fashion-mnist-validation-\(manifest.validationPerClass)x\(train.classCount)")
    }

    /// The training images outside the validation split (55k): the analog of the teacher's
    /// IN-22K pre-training, and the pool the student subsets are drawn from.
    public var teacherPretrainSet: ImageDataset {
        let held = Set(train.classBalancedIndices(perClass: manifest.validationPerClass, seed: manifest.validationSeed))
        return train.subset(train.labels.indices.filter { !held.contains($0) }, name: "fashion-mnist-pretrain")
    }

    /// The student's training set (the IN-1K analog): `perClass` images of each class of the
    /// pre-training set, chosen by `seed`. The default (100/class, seed 0) has the manifest's hash.
    public func studentSubset(perClass: Int = 100, seed: UInt64 = 0) -> ImageDataset {
        teacherPretrainSet.classBalancedSubset(perClass: perClass, seed: seed,
                                               name: "fashion-mnist-student-\(perClass)x\(train.classCount)-seed\(seed)")
    }

    /// The 10k test set (evaluation for every scale but ci).
    public var testSet: ImageDataset { test }

    /// ci scale: tiny seeded class-balanced subsets (200 training and 500 test images by default).
    public func ciTrainSet(perClass: Int = 20, seed: UInt64 = 0) -> ImageDataset {
        teacherPretrainSet.classBalancedSubset(perClass: perClass, seed: seed, name: "fashion-mnist-ci-train-\(perClass)-seed\(seed)")
    }

    /// ci scale: a small seeded class-balanced part of the validation split.
    public func ciValidationSet(perClass: Int = 20, seed: UInt64 = 0) -> ImageDataset {
        validationSet.classBalancedSubset(perClass: perClass, seed: seed, name: "fashion-mnist-ci-validation-\(perClass)-seed\(seed)")
    }

    public func ciTestSet(perClass: Int = 50, seed: UInt64 = 0) -> ImageDataset {
        test.classBalancedSubset(perClass: perClass, seed: seed, name: "fashion-mnist-ci-test-\(perClass)-seed\(seed)")
    }
}
