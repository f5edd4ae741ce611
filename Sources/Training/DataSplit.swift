/// Which images a run trains and evaluates on (docs/analog.md).
public struct DataSplit: Codable, Equatable, Sendable {
    public enum Train: String, Codable, Sendable {
        case pretrain   // the 55k training images outside the validation split (the IN-22K analog)
        case student    // a seeded class-balanced subset (the IN-1K analog)
    }
    public var train: Train
    public var perClass: Int = 100
    public var subsetSeed: UInt64 = 0
    /// Test images per class; nil = the whole 10k test set.
    public var testPerClass: Int? = nil
    /// Validation images per class; nil = the whole 5k validation split.
    public var validationPerClass: Int? = nil

    public init(train: Train, perClass: Int = 100, subsetSeed: UInt64 = 0, testPerClass: Int? = nil,
                validationPerClass: Int? = nil) {
        self.train = train; self.perClass = perClass; self.subsetSeed = subsetSeed; self.testPerClass = testPerClass
        self.validationPerClass = validationPerClass
    }
}
