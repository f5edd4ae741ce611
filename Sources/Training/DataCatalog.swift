import Datasets
import Foundation

/// Loads Fashion-MNIST once per process and cuts the splits runs ask for.
public final class DataCatalog {
    public let fashion: FashionMNIST

    public init() throws {
        fashion = try FashionMNIST.load(manifest: try FashionMNISTManifest.locate())
    }

    public func trainSet(_ s: DataSplit) -> ImageDataset {
        switch s.train {
        case .pretrain: return fashion.teacherPretrainSet
        case .student: return fashion.studentSubset(perClass: s.perClass, seed: s.subsetSeed)
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

    /// What a run trains on and is measured on, for its first progress line.
    public func describe(_ s: DataSplit) -> String {
        let t = trainSet(s), v = validationSet(s), e = testSet(s)
        return "train on \(t.name) (\(t.count) images); validation \(v.name) (\(v.count)); test \(e.name) (\(e.count))"
    }
}
