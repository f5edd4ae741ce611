import Foundation
import Tensor
@testable import Datasets

/// A tiny Fashion-MNIST look-alike written to a temp dir: same file names and format,
/// `perClass` images per class, with a manifest pointing at it.
struct SyntheticFashionMNIST {
    let directory: String
    var manifest: FashionMNISTManifest

    static let classes = (0..<10).map { "class\($0)" }

    init(trainPerClass: Int = 6, testPerClass: Int = 2) throws {
        directory = NSTemporaryDirectory() + "synthetic-fmnist-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = RandomGenerator(seed: 42)
        func split(_ perClass: Int) -> (images: IDXArray, labels: IDXArray) {
            let n = perClass * 10
            let labels = (0..<n).map { UInt8($0 % 10) }
            let pixels = (0..<(n * 784)).map { _ in UInt8(rng.nextInt(below: 256)) }
            return (IDXArray(shape: [n, 28, 28], bytes: pixels), IDXArray(shape: [n], bytes: labels))
        }
        let train = split(trainPerClass), test = split(testPerClass)
        func write(_ name: String, _ array: IDXArray) throws -> FashionMNISTManifest.File {
            let gz = Gzip.compress(array.encoded())
            try Data(gz).write(to: URL(fileURLWithPath: directory + "/" + name))
            return .init(name: name, sha256: SHA256.hexDigest(gz))
        }
        let text = """
            directory: \(directory)
            install: apt-get install dataset-fashion-mnist
            train_images_file: a
            train_images_sha256: a
            train_labels_file: a
            train_labels_sha256: a
            test_images_file: a
            test_images_sha256: a
            test_labels_file: a
            test_labels_sha256: a
            train_count: \(trainPerClass * 10)
            test_count: \(testPerClass * 10)
            image_height: 28
            image_width: 28
            padded_size: 32
            class_names: \(Self.classes.joined(separator: ", "))
            pixel_mean: 0.5
            pixel_std: 0.29
            validation_per_class: 1
            validation_seed: 1
            validation_sha256: unused
            student_subset_per_class: 2
            student_subset_seed: 0
            student_subset_sha256: unused
            """
        manifest = try FashionMNISTManifest(FlatManifest(text: text, path: "synthetic.yaml"))
        manifest.trainImages = try write("train-images-idx3-ubyte.gz", train.images)
        manifest.trainLabels = try write("train-labels-idx1-ubyte.gz", train.labels)
        manifest.testImages = try write("t10k-images-idx3-ubyte.gz", test.images)
        manifest.testLabels = try write("t10k-labels-idx1-ubyte.gz", test.labels)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func overwrite(_ name: String, with bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }

    func bytes(_ name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path(name))!) }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
