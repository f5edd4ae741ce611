import Datasets
import Foundation

/// Paper scale: an ImageNet-layout root holding train/ and val/ (each <class>/<images>,
/// classes sorted by name = labels, as timm's ImageFolder), scanned once per process. Runs
/// train on train/ and are validated and tested on val/ (`ImageFolderSplit`).
public final class ImageFolderData: TrainingData {
    public let root: String
    public let train: FolderDataset
    public let validation: FolderDataset
    public let trainManifest: FolderDataset.Manifest
    public let validationManifest: FolderDataset.Manifest

    public init(root: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputError("--data \(root): no such folder (give the ImageNet root that holds train/ and val/)")
        }
        for folder in ["train", "val"] {
            guard FileManager.default.fileExists(atPath: "\(root)/\(folder)", isDirectory: &isDirectory), isDirectory.boolValue else {
                throw InputError("--data \(root): no \(folder)/ folder in it (expected \(root)/train/<class>/<images> and \(root)/val/<class>/<images>)")
            }
        }
        let train = try FolderDataset(root: "\(root)/train"), validation = try FolderDataset(root: "\(root)/val")
        guard train.classes == validation.classes else {
            let missing = Set(train.classes).symmetricDifference(validation.classes).sorted()
            throw InputError("--data \(root): train/ has \(train.classes.count) class folders and val/ \(validation.classes.count); labels are the "
                + "sorted class names, so both need the same ones (differing: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : ""))")
        }
        self.root = root
        self.train = train
        self.validation = validation
        trainManifest = train.manifest
        validationManifest = validation.manifest
    }

    /// The split a run reads: crops of `imageSize` (the student's input) with `interpolation`,
    /// and at most `limitPerClass` images of each class in both folders.
    public func split(imageSize: Int, interpolation: ImageNetTransform.Interpolation, limitPerClass: Int?) -> DataSplit {
        DataSplit(folders: ImageFolderSplit(trainFileList: trainManifest.fileListSHA256,
                                            validationFileList: validationManifest.fileListSHA256,
                                            limitPerClass: limitPerClass, imageSize: imageSize,
                                            evaluationResize: ImageFolderData.evaluationResize(for: imageSize),
                                            interpolation: interpolation))
    }

    /// timm's evaluation resize, floor(size / crop_pct) with the default crop_pct 0.875: 256 for 224.
    public static func evaluationResize(for size: Int) -> Int { Int((Double(size) / 0.875).rounded(.down)) }

    public func imageSets(for split: DataSplit) throws -> RunImageSets {
        guard let f = split.folders else {
            throw InputError("this run reads Fashion-MNIST (ci or small scale), not the folders of --data")
        }
        guard f.trainFileList == trainManifest.fileListSHA256, f.validationFileList == validationManifest.fileListSHA256 else {
            throw InputError("this run was configured for another copy of the data (file lists \(f.trainFileList.prefix(12)) / "
                + "\(f.validationFileList.prefix(12))); --data \(root) has \(trainManifest.fileListSHA256.prefix(12)) / "
                + "\(validationManifest.fileListSHA256.prefix(12))")
        }
        let limited = f.limitPerClass.map { " (first \($0) per class)" } ?? ""
        func images(_ folder: FolderDataset, _ name: String) -> FolderImages {
            FolderImages(folder: f.limitPerClass.map { folder.limited(perClass: $0) } ?? folder, name: "\(root)/\(name)\(limited)",
                         size: f.imageSize, evaluationResize: f.evaluationResize, interpolation: f.interpolation)
        }
        let validation = images(self.validation, "val")
        return RunImageSets(train: images(train, "train"), validation: validation, test: validation)
    }

    /// What was found, for the first lines of a paper-scale run.
    public var summary: [String] {
        var lines = [trainManifest, validationManifest].map { m in
            "\(m.root): \(m.count) images in \(m.classes.count) classes, file list SHA-256 \(m.fileListSHA256)"
        }
        for m in [trainManifest, validationManifest] where !m.emptyClasses.isEmpty {
            lines.append("warning: \(m.emptyClasses.count) empty class folders in \(m.root) keep their labels: \(m.emptyClasses.prefix(5).joined(separator: ", "))")
        }
        return lines
    }
}

extension ImageNetTransform.Interpolation {
    /// timm's default_cfg interpolation: torchvision-style CNN weights are bilinear, the
    /// transformer, ConvNeXt and Mixer weights bicubic.
    public static func timmDefault(forFamily family: String) -> Self {
        ["resnet", "mobilenet-v1"].contains(family) ? .bilinear : .bicubic
    }
}
