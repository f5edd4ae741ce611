import Foundation
import Models
import Training

/// One student preset's ImageNet-1K recipe under one strategy (tables/paper-recipes.yaml).
public struct PaperRecipe: Codable, Equatable {
    public var optimizer: String
    public var learningRate: Double
    public var weightDecay: Double
    public var perGPUBatch: Int
    public var gpus: Int
    public var schedule: String
    /// The strategy's length on ImageNet-1K (traditional 100, advanced 300 epochs); a table's
    /// paper plan may override it. Tables that mix strategies (Table 2) need it per recipe.
    public var epochs: Int?
    /// The preset whose recipe this one copies, when the configs give none of its own.
    public var assumedFrom: String?

    public var globalBatch: Int { perGPUBatch * gpus }
}

/// Table 10's recipes by student preset and strategy.
public struct PaperRecipes: Codable {
    public var recipes: [String: [String: PaperRecipe]]

    public init(recipes: [String: [String: PaperRecipe]]) { self.recipes = recipes }

    public static let fileName = "tables/paper-recipes.yaml"

    public static func load(from path: String? = nil) throws -> PaperRecipes {
        let path = path ?? StrictYAML.locate(fileName) ?? fileName
        let recipes = try StrictYAML.load(PaperRecipes.self, from: path, what: "Table 10's paper-scale recipes")
        for (preset, byStrategy) in recipes.recipes {
            guard Zoo.preset(named: preset)?.scale == .paper else {
                throw SpecError(file: path, line: nil, message: "'\(preset)' is not a paper-size preset (`scalekd models`)")
            }
            for (strategy, r) in byStrategy {
                guard TrainingStrategy.named(strategy) != nil else {
                    throw SpecError(file: path, line: nil, message: "\(preset): unknown strategy '\(strategy)' (traditional or advanced)")
                }
                guard ["sgd", "adamw", "lamb"].contains(r.optimizer), r.perGPUBatch > 0, r.gpus > 0 else {
                    throw SpecError(file: path, line: nil, message: "\(preset) \(strategy): optimizer must be sgd, adamw or lamb and batch sizes positive")
                }
            }
        }
        return recipes
    }
}

/// A run of a table's paper-scale plan: the row's paper presets with Table 10's recipe.
public struct PaperRun: Equatable {
    /// The table cells (row.column) this run fills; a baseline shared by rows trains once.
    public var cells: [String]
    public var method: String
    public var teacher: String?
    public var student: String
    public var strategy: String
    public var epochs: Int
    public var seeds: Int
    public var recipe: PaperRecipe
    /// The run's method switches and weights (runs differing only here train apart).
    public var flags: MethodFlags? = nil
    public var options: MethodOptions? = nil
}

public enum PaperPlan {
    /// ImageNet-1K's training set.
    public static let trainImages = 1_281_167

    /// The table's paper-scale runs, shared runs merged. Throws when the table has no paper
    /// plan, a row no paper presets, or a student no recipe for its strategy.
    public static func runs(of spec: TableSpec, recipes: PaperRecipes) throws -> [PaperRun] {
        let file = "tables/table\(String(format: "%02d", spec.table)).yaml"
        guard let plan = spec.plan[Scale.paper.rawValue] else {
            throw SpecError(file: file, line: nil, message: "no paper plan: add `plan: paper: {epochs:, seeds:, strategy:}` and each row's `paperModels` (tables/README.md)")
        }
        var out: [PaperRun] = []
        for row in spec.rows {
            for (column, run) in (row.runs ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let models = row.paperModels else {
                    throw SpecError(file: file, line: nil, message: "row '\(row.id)' has no `paperModels` (the paper-size teacher and student presets)")
                }
                guard run.student == nil, run.teacher == nil, run.pretrain != true, run.initFrom == nil else {
                    throw SpecError(file: file, line: nil, message: "row '\(row.id)' run '\(column)': runs with their own models, pre-training or fine-tuning have no paper plan yet")
                }
                guard let student = models["student"], Zoo.preset(named: student)?.scale == .paper else {
                    throw SpecError(file: file, line: nil, message: "row '\(row.id)': paperModels.student must be a paper-size preset (`scalekd models`)")
                }
                let teacher = run.method == "baseline" ? nil : models["teacher"]
                if run.method != "baseline" {
                    guard let teacher, Zoo.preset(named: teacher)?.isTeacher == true else {
                        throw SpecError(file: file, line: nil, message: "row '\(row.id)': paperModels.teacher must be a paper-size teacher preset")
                    }
                }
                let strategy = run.strategy ?? plan.strategy ?? "advanced"
                guard let recipe = recipes.recipes[student]?[strategy] else {
                    throw SpecError(file: PaperRecipes.fileName, line: nil,
                                    message: "no \(strategy) recipe for \(student) (row '\(row.id)'): Table 10 gives none; add one and say where it comes from")
                }
                let candidate = PaperRun(cells: ["\(row.id).\(column)"], method: run.method, teacher: teacher, student: student,
                                         strategy: strategy, epochs: run.epochs ?? recipe.epochs ?? plan.epochs, seeds: plan.seeds,
                                         recipe: recipe, flags: run.flags, options: run.options)
                // Rows that repeat a configuration (Table 9's c-spatial is a-cap) share one run.
                if let i = out.firstIndex(where: { $0.method == candidate.method && $0.teacher == candidate.teacher
                       && $0.student == candidate.student && $0.strategy == candidate.strategy && $0.epochs == candidate.epochs
                       && $0.flags == candidate.flags && $0.options == candidate.options }) {
                    out[i].cells += candidate.cells
                } else {
                    out.append(candidate)
                }
            }
        }
        return out
    }
}
