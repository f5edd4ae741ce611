import Foundation
import Models
import NN
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
            guard Zoo.preset(named: preset)?.scale.runsAtPaperScale == true else {
                throw SpecError(file: path, line: nil, message: "'\(preset)' is not a paper-size preset (`scalekd models`)")
            }
            for (strategy, r) in byStrategy {
                guard TrainingStrategy.named(strategy) != nil else {
                    throw SpecError(file: path, line: nil, message: "\(preset): unknown strategy '\(strategy)' (traditional or advanced)")
                }
                guard ["sgd", "adamw", "lamb"].contains(r.optimizer), r.perGPUBatch > 0, r.gpus > 0 else {
                    throw SpecError(file: path, line: nil, message: "\(preset) \(strategy): optimizer must be sgd, adamw or lamb and batch sizes positive")
                }
                do { _ = try r.trainingStrategy(strategy) } catch {
                    throw SpecError(file: path, line: nil, message: "\(preset) \(strategy): \(error)")
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

extension TableSpec {
    /// The spec's file, as errors name it.
    public var file: String { String(format: "tables/table%02d.yaml", table) }

    /// The table's paper-scale plan, or an error saying how to add one.
    public func paperPlan() throws -> ScalePlan {
        guard let plan = plan[Scale.paper.rawValue] else {
            throw SpecError(file: file, line: nil, message: "no paper plan: add `plan: paper: {epochs:, seeds:, strategy:}` and each row's "
                + "`paperModels`, or say in `omitted` why a row does not run at paper scale (tables/README.md)")
        }
        return plan
    }
}

public enum PaperPlan {
    /// ImageNet-1K's training set.
    public static let trainImages = 1_281_167

    /// The table's paper-scale runs, shared runs merged. Throws when the table has no paper
    /// plan, a row no paper presets, or a student no recipe for its strategy.
    public static func runs(of spec: TableSpec, recipes: PaperRecipes) throws -> [PaperRun] {
        let plan = try spec.paperPlan()
        var out: [PaperRun] = []
        for row in spec.rows {
            for column in (row.runs ?? [:]).keys.sorted() where !plan.omits(row: row.id, column: column, of: spec) {
                let candidate = try run(row: row, column: column, of: spec, recipes: recipes)
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

    /// The paper-scale run of one cell (row.column): the row's paper presets, the
    /// student's recipe for the run's strategy, its epochs.
    public static func run(row: RowSpec, column: String, of spec: TableSpec, recipes: PaperRecipes) throws -> PaperRun {
        let file = spec.file
        let plan = try spec.paperPlan()
        if let why = plan.omission(row: row.id, column: column, of: spec) {
            throw SpecError(file: file, line: nil, message: "row '\(row.id)' run '\(column)' is not run at paper scale: \(why)")
        }
        guard let run = row.runs?[column] else {
            throw SpecError(file: file, line: nil, message: "row '\(row.id)' has no run '\(column)'")
        }
        guard let models = row.paperModels else {
            throw SpecError(file: file, line: nil, message: "row '\(row.id)' has no `paperModels` (the paper-size teacher and student presets)")
        }
        guard run.student == nil, run.teacher == nil, run.pretrain != true, run.initFrom == nil else {
            throw SpecError(file: file, line: nil, message: "row '\(row.id)' run '\(column)': runs with their own models, pre-training or fine-tuning have no paper plan yet")
        }
        guard let student = models["student"], Zoo.preset(named: student)?.scale.runsAtPaperScale == true else {
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
        return PaperRun(cells: ["\(row.id).\(column)"], method: run.method, teacher: teacher, student: student,
                        strategy: strategy, epochs: run.epochs ?? recipe.epochs ?? plan.epochs, seeds: plan.seeds,
                        recipe: recipe, flags: run.flags, options: run.options)
    }
}

extension PaperRecipe {
    /// The recipe as the trainer runs it: Table 10's optimizer, learning rate, weight decay
    /// and schedule, over the strategy's regularisation (label smoothing, gradient clipping,
    /// augmentation: RandomResizedCrop and flip, and for the advanced strategy RandAugment
    /// and random erasing). Schedules: "cosine", "<N>-epoch warm-up, cosine" and
    /// "step x0.1 at <e1>/<e2>/..." (epochs of the recipe's length, kept as fractions when a
    /// run is shortened).
    public func trainingStrategy(_ name: String) throws -> TrainingStrategy {
        guard var s = TrainingStrategy.named(name) else { throw InputError("unknown strategy '\(name)' (traditional or advanced)") }
        guard let kind = TrainingStrategy.OptimizerKind(rawValue: optimizer) else { throw InputError("unknown optimizer '\(optimizer)'") }
        s.optimizer = kind
        s.augmentation.cropPadding = 0  // RandomResizedCrop (ImageNetTransform) replaces the 32 px analog's padded crop
        s.learningRate = Float(learningRate)
        s.weightDecay = Float(weightDecay)
        s.warmupEpochs = 0
        s.milestonesFraction = []
        var decay: LRSchedule.Kind? = nil
        for part in schedule.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let words = part.split(separator: " ").map(String.init)
            let marks = words.count == 4 ? words[3].split(separator: "/").map { Double($0) } : []  // a step schedule's epochs
            if part == "cosine" {
                decay = .cosine
            } else if words.count == 2, words[1] == "warm-up", words[0].hasSuffix("-epoch"), let n = Double(words[0].dropLast(6)), n >= 0 {
                s.warmupEpochs = n
            } else if words.count == 4, words[0] == "step", words[1] == "x0.1", words[2] == "at", let length = epochs,
                      !marks.isEmpty, !marks.contains(nil) {
                decay = .step  // LRSchedule's step factor is 0.1
                s.milestonesFraction = marks.map { $0! / Double(length) }
            } else {
                throw InputError("schedule '\(schedule)': cannot read '\(part)' (known: cosine, <N>-epoch warm-up, step x0.1 at <epoch>/<epoch>/...; a step schedule needs the recipe's epochs)")
            }
        }
        guard let decay else { throw InputError("schedule '\(schedule)' names no decay (cosine or step)") }
        s.schedule = decay
        return s
    }
}

/// What a table's paper-scale runs read and start from, and the overrides of a smoke run
/// (each enters the run keys it changes).
public struct PaperScaleInputs {
    public var data: ImageFolderData
    public var teachers: TeacherWeightFiles
    public var recipes: PaperRecipes
    /// Epochs of every run instead of its recipe's.
    public var epochs: Int?
    /// The first N images of each class of train/ and val/.
    public var limitPerClass: Int?
    /// The global batch instead of the recipe's per-GPU batch x GPUs (the learning rate stays
    /// the recipe's unless `scalesLearningRate`).
    public var batchSize: Int?
    /// With `batchSize`: the recipe's learning rate times batchSize / its global batch (the
    /// linear scaling rule, Goyal et al. 2017), for runs on fewer GPUs than the paper's.
    public var scalesLearningRate = false

    public init(data: ImageFolderData, teachers: TeacherWeightFiles, recipes: PaperRecipes, epochs: Int? = nil,
                limitPerClass: Int? = nil, batchSize: Int? = nil, scalesLearningRate: Bool = false) {
        self.data = data; self.teachers = teachers; self.recipes = recipes
        self.epochs = epochs; self.limitPerClass = limitPerClass; self.batchSize = batchSize
        self.scalesLearningRate = scalesLearningRate
    }

    /// A recipe's training strategy with the batch override's learning rate, if it scales.
    func trainingStrategy(_ recipe: PaperRecipe, _ name: String) throws -> TrainingStrategy {
        var s = try recipe.trainingStrategy(name)
        if scalesLearningRate, let batchSize { s.learningRate *= Float(batchSize) / Float(recipe.globalBatch) }
        return s
    }
}
