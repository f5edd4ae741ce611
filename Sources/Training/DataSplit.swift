import Datasets

/// Which images a run trains and evaluates on (docs/analog.md; paper scale: README, At paper scale).
public struct DataSplit: Codable, Equatable, Sendable {
    public enum Train: String, Codable, Sendable {
        case pretrain   // the 55k training images outside the validation split (the IN-22K analog)
        case student    // a seeded class-balanced subset (the IN-1K analog)
        case imageFolder  // paper scale: train/ of an ImageNet-layout folder, as `folders` says
    }
    public var train: Train
    public var perClass: Int = 100
    public var subsetSeed: UInt64 = 0
    /// Test images per class; nil = the whole 10k test set.
    public var testPerClass: Int? = nil
    /// Validation images per class; nil = the whole 5k validation split.
    public var validationPerClass: Int? = nil
    /// Paper scale: which copy of the folders and how they are read (nil for Fashion-MNIST).
    public var folders: ImageFolderSplit? = nil

    public init(train: Train, perClass: Int = 100, subsetSeed: UInt64 = 0, testPerClass: Int? = nil,
                validationPerClass: Int? = nil) {
        self.train = train; self.perClass = perClass; self.subsetSeed = subsetSeed; self.testPerClass = testPerClass
        self.validationPerClass = validationPerClass
    }

    /// A paper-scale split: train/ and val/ of an ImageNet-layout root.
    public init(folders: ImageFolderSplit) {
        self.train = .imageFolder
        self.folders = folders
    }

    // A folder split is encoded without perClass and subsetSeed, which pick Fashion-MNIST
    // subsets and would only mislead in a paper run's config.json; Fashion-MNIST splits
    // encode exactly as before, so their run keys are unchanged.
    enum CodingKeys: String, CodingKey { case train, perClass, subsetSeed, testPerClass, validationPerClass, folders }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        train = try c.decode(Train.self, forKey: .train)
        perClass = try c.decodeIfPresent(Int.self, forKey: .perClass) ?? 100
        subsetSeed = try c.decodeIfPresent(UInt64.self, forKey: .subsetSeed) ?? 0
        testPerClass = try c.decodeIfPresent(Int.self, forKey: .testPerClass)
        validationPerClass = try c.decodeIfPresent(Int.self, forKey: .validationPerClass)
        folders = try c.decodeIfPresent(ImageFolderSplit.self, forKey: .folders)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(train, forKey: .train)
        if let folders {
            try c.encode(folders, forKey: .folders)
        } else {
            try c.encode(perClass, forKey: .perClass)
            try c.encode(subsetSeed, forKey: .subsetSeed)
        }
        try c.encodeIfPresent(testPerClass, forKey: .testPerClass)
        try c.encodeIfPresent(validationPerClass, forKey: .validationPerClass)
    }
}

/// What a paper-scale run reads from an ImageNet-layout root, as it enters the run key: the
/// copy of the data (the SHA-256 of each folder's sorted file list, so another or a changed
/// ImageNet never reuses a cached run; the root's path is left out, so a moved copy does),
/// the smoke-run limit, and the transform's size and resampling (the student's input).
/// Validation and test both read val/: ImageNet-1K's val set is where the paper's top-1 is
/// measured.
public struct ImageFolderSplit: Codable, Equatable, Sendable {
    public var trainFileList: String
    public var validationFileList: String
    /// The first N images of each class of both folders (`--limit-per-class`; nil: all).
    public var limitPerClass: Int?
    /// Side of the crops (the student preset's input size).
    public var imageSize: Int
    /// Shorter side before the evaluation center crop (timm's crop_pct 0.875: 256 for 224).
    public var evaluationResize: Int
    /// timm's default resampling for the student's family.
    public var interpolation: ImageNetTransform.Interpolation

    public init(trainFileList: String, validationFileList: String, limitPerClass: Int?, imageSize: Int,
                evaluationResize: Int, interpolation: ImageNetTransform.Interpolation) {
        self.trainFileList = trainFileList; self.validationFileList = validationFileList
        self.limitPerClass = limitPerClass; self.imageSize = imageSize
        self.evaluationResize = evaluationResize; self.interpolation = interpolation
    }
}
