import Datasets
import Foundation

/// A student family's small-scale recipe under one strategy: its epochs and the strategy
/// settings it changes. Chosen on the validation split by `scalekd recipes`
/// (tables/recipe-search.yaml -> docs/recipe-search.md), never on the test split.
public struct StudentRecipe: Codable, Equatable, Sendable {
    public var epochs: Int
    public var learningRate: Double?
    public var weightDecay: Double?
    public var warmupEpochs: Double?
    /// none, traditional or advanced: another strategy's augmentation (a linear model on
    /// pixels is not translation-invariant, so crops only blur what it can learn).
    public var augmentation: String?

    enum CodingKeys: String, CodingKey {
        case epochs, learningRate = "learning_rate", weightDecay = "weight_decay", warmupEpochs = "warmup_epochs", augmentation
    }

    public init(epochs: Int, learningRate: Double? = nil, weightDecay: Double? = nil, warmupEpochs: Double? = nil,
                augmentation: String? = nil) {
        self.epochs = epochs; self.learningRate = learningRate; self.weightDecay = weightDecay; self.warmupEpochs = warmupEpochs
        self.augmentation = augmentation
    }

    static let augmentations: [String: Augmentation] = ["none": .none, "traditional": .traditional, "advanced": .advanced]

    /// The strategy with this recipe's settings.
    public func applied(to strategy: TrainingStrategy) -> TrainingStrategy {
        var s = strategy
        if let v = learningRate { s.learningRate = Float(v) }
        if let v = weightDecay { s.weightDecay = Float(v) }
        if let v = warmupEpochs { s.warmupEpochs = v }
        if let a = augmentation.flatMap({ StudentRecipe.augmentations[$0] }) { s.augmentation = a }
        return s
    }

    /// Short text for outputs: "200 epochs, lr 0.001".
    public var summary: String {
        var parts = ["\(epochs) epochs"]
        if let v = learningRate { parts.append("lr \(v)") }
        if let v = weightDecay { parts.append("wd \(v)") }
        if let v = warmupEpochs { parts.append("warm-up \(v)") }
        if let a = augmentation { parts.append("augmentation \(a)") }
        return parts.joined(separator: ", ")
    }

    /// Checks recipes read from `file` for (model, strategy): a known strategy, ranges.
    public static func check(_ recipes: [StudentRecipe], model: String, strategy: String, file: String) throws {
        guard TrainingStrategy.named(strategy) != nil else {
            throw SpecError(file: file, line: nil, message: "\(model): unknown strategy '\(strategy)' (traditional or advanced)")
        }
        for r in recipes { if let p = r.problems().first { throw SpecError(file: file, line: nil, message: "\(model).\(strategy): \(p)") } }
    }

    /// Range problems, each a sentence.
    public func problems() -> [String] {
        var out: [String] = []
        if epochs < 1 { out.append("epochs must be at least 1 (got \(epochs))") }
        if let v = learningRate, !(v > 0 && v < 10) { out.append("learning_rate must be in (0, 10) (got \(v))") }
        if let v = weightDecay, !(v >= 0 && v < 1) { out.append("weight_decay must be in [0, 1) (got \(v))") }
        if let v = warmupEpochs, !(v >= 0) { out.append("warmup_epochs must be at least 0 (got \(v))") }
        if let a = augmentation, StudentRecipe.augmentations[a] == nil { out.append("augmentation must be none, traditional or advanced (got \(a))") }
        return out
    }
}

/// The chosen small-scale recipes (tables/student-recipes.yaml, written by `scalekd recipes`):
/// student preset -> strategy name -> recipe. A small-scale student run whose spec or command
/// line gives no epochs trains with its family's recipe; ci and paper scale do not use them.
public struct StudentRecipes: Codable, Equatable, Sendable {
    public var recipes: [String: [String: StudentRecipe]]

    public init(recipes: [String: [String: StudentRecipe]]) { self.recipes = recipes }

    public static let fileName = "tables/student-recipes.yaml"

    public static func load(from path: String) throws -> StudentRecipes {
        let r = try StrictYAML.load(StudentRecipes.self, from: path, what: "the student recipes")
        for (model, byStrategy) in r.recipes {
            for (strategy, recipe) in byStrategy { try StudentRecipe.check([recipe], model: model, strategy: strategy, file: path) }
        }
        return r
    }

    /// The committed file, found from the current directory upwards (loaded once); no
    /// recipes when the file does not exist yet.
    public static func committed() throws -> StudentRecipes {
        if let r = cache.value { return r }
        let r = try StrictYAML.locate(fileName).map(load(from:)) ?? StudentRecipes(recipes: [:])
        cache.value = r
        return r
    }

    private final class Cache: @unchecked Sendable { var value: StudentRecipes? }
    private static let cache = Cache()

    public func recipe(model: String, strategy: String) -> StudentRecipe? { recipes[model]?[strategy] }

    /// A student run's strategy and epochs at `scale`: explicit epochs win; otherwise at small
    /// scale the family's recipe (its epochs and settings), else `fallbackEpochs`.
    public func resolve(model: String, strategy: TrainingStrategy, epochs: Int?, fallbackEpochs: Int,
                        scale: Scale) -> (strategy: TrainingStrategy, epochs: Int) {
        guard scale == .small, epochs == nil, let r = recipe(model: model, strategy: strategy.name) else {
            return (strategy, epochs ?? fallbackEpochs)
        }
        return (r.applied(to: strategy), r.epochs)
    }
}
