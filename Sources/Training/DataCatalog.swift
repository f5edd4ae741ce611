import Datasets
import Foundation

/// The image sets one run trains and is measured on.
public struct RunImageSets {
    public var train: any ImageSource
    public var validation: any ImageSource
    public var test: any ImageSource

    public init(train: any ImageSource, validation: any ImageSource, test: any ImageSource) {
        self.train = train; self.validation = validation; self.test = test
    }

    /// What a run trains on and is measured on, for its first progress line.
    public var description: String {
        "train on \(train.name) (\(train.count) images); validation \(validation.name) (\(validation.count)); test \(test.name) (\(test.count))"
    }
}

/// Where runs' images come from: Fashion-MNIST in memory (DataCatalog: ci and small scale)
/// or the ImageNet-layout folders of paper scale (ImageFolderData). The trainer reads either
/// through the same `ImageSource` batches.
public protocol TrainingData: AnyObject {
    func imageSets(for split: DataSplit) throws -> RunImageSets
}

/// Loads Fashion-MNIST once per process and cuts the splits runs ask for.
public final class DataCatalog: TrainingData {
    public let fashion: FashionMNIST

    public init() throws {
        fashion = try FashionMNIST.load(manifest: try FashionMNISTManifest.locate())
    }

    public func trainSet(_ s: DataSplit) -> ImageDataset {
        switch s.train {
        case .pretrain: return fashion.teacherPretrainSet
        case .student: return fashion.studentSubset(perClass: s.perClass, seed: s.subsetSeed)
        case .imageFolder: preconditionFailure("a paper-scale split is read from its ImageNet-layout folders, not from Fashion-MNIST")
        }
    }

    public func testSet(_ s: DataSplit) -> ImageDataset {
        if let k = s.testPerClass { return fashion.ciTestSet(perClass: k, seed: s.subsetSeed) }
        return fashion.testSet
    }

    public func validationSet(_ s: DataSplit) -> ImageDataset {
        if let k = s.validationPerClass { return fashion.ciValidationSet(perClass: k, seed: s.subsetSeed) }
        return fashion.validationSet
    }

    public func imageSets(for split: DataSplit) throws -> RunImageSets {
        guard split.train != .imageFolder else {
            throw InputError("this run reads ImageNet-layout folders (paper scale): give them with --data")
        }
        return RunImageSets(train: trainSet(split), validation: validationSet(split), test: testSet(split))
    }

    /// What a run trains on and is measured on, for its first progress line.
    public func describe(_ s: DataSplit) -> String {
        RunImageSets(train: trainSet(s), validation: validationSet(s), test: testSet(s)).description
    }
}
