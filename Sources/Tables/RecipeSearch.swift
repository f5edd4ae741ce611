import Foundation
import Models
import Plot
import Store
import Training

/// `scalekd recipes`: each student family's small-scale recipe, chosen on the validation
/// split. tables/recipe-search.yaml lists the candidates; every candidate trains as a
/// baseline (seed 0, the student subset) through the run cache; the choice is written to
/// tables/student-recipes.yaml and the whole search, with its numbers, to
/// docs/recipe-search.md (and the chosen recipes' validation curves to a PNG beside it).
/// The test split is never read for a choice.
public struct RecipeSearchSpec: Codable {
    public var seed: Int
    public var batchSize: Int
    /// The sanity anchor (a linear classifier): no chosen baseline may end below it.
    public var anchor: String
    /// Student preset -> strategy -> candidate recipes.
    public var candidates: [String: [String: [StudentRecipe]]]

    enum CodingKeys: String, CodingKey { case seed, batchSize = "batch_size", anchor, candidates }

    public static let fileName = "tables/recipe-search.yaml"

    public static func load(from path: String) throws -> RecipeSearchSpec {
        let s = try StrictYAML.load(RecipeSearchSpec.self, from: path, what: "the recipe search")
        for (model, byStrategy) in s.candidates {
            guard Zoo.preset(named: model) != nil else { throw SpecError(file: path, line: nil, message: "unknown model '\(model)'") }
            for (strategy, recipes) in byStrategy { try StudentRecipe.check(recipes, model: model, strategy: strategy, file: path) }
        }
        guard s.candidates[s.anchor] != nil else { throw SpecError(file: path, line: nil, message: "the anchor \(s.anchor) has no candidates") }
        return s
    }
}

public struct RecipeSearch {
    public let spec: RecipeSearchSpec
    public let cache: RunCache
    public let data: DataCatalog

    public init(spec: RecipeSearchSpec, cache: RunCache, data: DataCatalog) {
        self.spec = spec; self.cache = cache; self.data = data
    }

    /// One candidate of one (model, strategy).
    public struct Candidate {
        public var model: String
        public var strategy: String
        public var recipe: StudentRecipe
        public var config: RunConfig
        /// Added by the search itself (a longer run of an unconverged best), not listed in the spec.
        public var extended = false
    }

    /// A finished candidate, measured on the validation split.
    public struct Trial {
        public var candidate: Candidate
        public var result: RunResult
        /// Validation top-1 of the last epoch.
        public var validationTop1: Double
        /// Validation top-1 gained over the last fifth of the epochs (nil without a curve point there).
        public var lastFifthGain: Double?
        /// The issue's criterion: under 0.3 points over the last fifth.
        public var converged: Bool { (lastFifthGain ?? .infinity) < RecipeSearch.convergedBelow }
    }

    public static let convergedBelow = 0.3
    /// The longest run the search adds by itself (see `candidates`). 1600: at 800 epochs
    /// swin-mini-t, vit-mini-b and vit-mini-s still gained 0.68, 0.32 and 0.62 points over their last
    /// fifth (the issue's criterion is under 0.3); each doubling doubles every table cell of
    /// theirs, so the search stops here and a family still rising is chosen and marked.
    public static let longestExtension = 1600

    func candidate(_ model: String, _ strategy: String, _ recipe: StudentRecipe) throws -> Candidate {
        let config = RunConfig(model: model, split: try Scale.small.studentSplit,
                               strategy: recipe.applied(to: TrainingStrategy.named(strategy)!), epochs: recipe.epochs,
                               batchSize: spec.batchSize, seed: UInt64(spec.seed), method: nil, teacher: nil, scale: .small)
        return Candidate(model: model, strategy: strategy, recipe: recipe, config: config)
    }

    /// Every candidate, the families in name order (the anchor first): the spec's, and one the
    /// search adds where a (model, strategy)'s best trained candidate has not converged: the
    /// same recipe at twice its epochs (up to `longestExtension`). Otherwise a short candidate
    /// that plateaued low would be chosen over a longer one still climbing past it (mixer-mini-s:
    /// 100 epochs converged at 76.5, 200 epochs reached 81.6 and still gained 1.0).
    public func candidates(only: [String]? = nil) throws -> [Candidate] {
        let models = spec.candidates.keys.sorted { ($0 == spec.anchor ? 0 : 1, $0) < ($1 == spec.anchor ? 0 : 1, $1) }
        var out: [Candidate] = []
        for model in models where only?.contains(model) ?? true {
            for (strategy, recipes) in spec.candidates[model]!.sorted(by: { $0.key < $1.key }) {
                var group = try recipes.map { try candidate(model, strategy, $0) }
                while let best = trials(of: group).max(by: { $0.validationTop1 < $1.validationTop1 }), !best.converged,
                      best.candidate.recipe.epochs * 2 <= RecipeSearch.longestExtension {
                    var longer = best.candidate.recipe
                    longer.epochs *= 2
                    var longerRun = try candidate(model, strategy, longer)
                    longerRun.extended = true
                    guard !group.contains(where: { $0.config.key == longerRun.config.key }) else { break }
                    group.append(longerRun)
                }
                out += group
            }
        }
        return out
    }

    /// Trains what the cache lacks (runs another process holds are left to it and awaited),
    /// then the longer candidates the results call for, until none is added.
    public func train(only: [String]? = nil) throws {
        let teachers = TeacherProvider(scale: .small, cache: cache, data: data)
        var trained = -1
        while true {
            let configs = try candidates(only: only).map(\.config)
            if configs.count == trained { return }
            trained = configs.count
            try cache.trainAll(configs, data: data, teachers: teachers)
        }
    }

    /// The finished candidates.
    public func trials(only: [String]? = nil) throws -> [Trial] {
        trials(of: try candidates(only: only))
    }

    func trials(of candidates: [Candidate]) -> [Trial] {
        candidates.compactMap { c in
            guard let r = cache.result(for: c.config), let v = r.validationTop1 else { return nil }
            return Trial(candidate: c, result: r, validationTop1: v, lastFifthGain: RecipeSearch.lastFifthGain(r.curve ?? [], epochs: c.recipe.epochs))
        }
    }

    /// Validation top-1 at the last epoch minus that at the last evaluated epoch at or
    /// before four fifths of the run.
    public static func lastFifthGain(_ curve: [EpochEvaluation], epochs: Int) -> Double? {
        let mark = Double(epochs) * 0.8
        guard let last = curve.first(where: { $0.epoch == epochs }),
              let earlier = curve.filter({ Double($0.epoch) <= mark }).max(by: { $0.epoch < $1.epoch }) else { return nil }
        return last.validationTop1 - earlier.validationTop1
    }

    /// The chosen trial of each (model, strategy): the highest last-epoch validation top-1
    /// among converged candidates (within 0.1 point, the fewer epochs). The highest of all,
    /// marked as not converged, when none converged, or when it is at `longestExtension`
    /// epochs (the search could not run it longer, and the converged ones only plateaued lower).
    public static func choose(_ trials: [Trial]) -> [String: [String: Trial]] {
        var out: [String: [String: Trial]] = [:]
        let groups = Dictionary(grouping: trials) { "\($0.candidate.model)|\($0.candidate.strategy)" }
        for (_, group) in groups {
            let top = group.max { $0.validationTop1 < $1.validationTop1 }!
            let atLongest = !top.converged && top.candidate.recipe.epochs * 2 > longestExtension
            let pool = group.contains(where: \.converged) && !atLongest ? group.filter(\.converged) : [top]
            let best = pool.map(\.validationTop1).max()!
            let near = pool.filter { $0.validationTop1 >= best - 0.1 }
            let pick = near.min { ($0.candidate.recipe.epochs, -$0.validationTop1) < ($1.candidate.recipe.epochs, -$1.validationTop1) }!
            out[pick.candidate.model, default: [:]][pick.candidate.strategy] = pick
        }
        return out
    }

    /// Writes tables/student-recipes.yaml, docs/recipe-search.md and its curve figure; returns the markdown.
    @discardableResult
    public func write(root: String = ".") throws -> String {
        let trials = try trials()
        // A (model, strategy) is chosen only once all its candidates are trained.
        let counts = Dictionary(grouping: try candidates()) { "\($0.model)|\($0.strategy)" }.mapValues(\.count)
        let done = Dictionary(grouping: trials) { "\($0.candidate.model)|\($0.candidate.strategy)" }
        let chosen = RecipeSearch.choose(trials.filter { done["\($0.candidate.model)|\($0.candidate.strategy)"]!.count == counts["\($0.candidate.model)|\($0.candidate.strategy)"] })
        var yaml = "# Written by `scalekd recipes` from tables/recipe-search.yaml: the candidate with the highest\n"
        yaml += "# last-epoch validation top-1 among the converged ones; the search: docs/recipe-search.md.\n"
        yaml += "# Small-scale student runs without explicit epochs train with these.\nrecipes:\n"
        for model in chosen.keys.sorted() where model != spec.anchor {
            yaml += "  \(model):\n"
            for (strategy, t) in chosen[model]!.sorted(by: { $0.key < $1.key }) {
                let r = t.candidate.recipe
                var fields = ["epochs: \(r.epochs)"]
                if let v = r.learningRate { fields.append("learning_rate: \(v)") }
                if let v = r.weightDecay { fields.append("weight_decay: \(v)") }
                if let v = r.warmupEpochs { fields.append("warmup_epochs: \(v)") }
                if let v = r.augmentation { fields.append("augmentation: \(v)") }
                yaml += "    \(strategy): {\(fields.joined(separator: ", "))}\n"
            }
        }
        let md = markdown(trials: trials, chosen: chosen)
        try FileManager.default.createDirectory(atPath: root + "/docs", withIntermediateDirectories: true)
        try AtomicWrite.write(Data(yaml.utf8), to: root + "/" + StudentRecipes.fileName)
        try AtomicWrite.write(Data(md.utf8), to: root + "/docs/recipe-search.md")
        try curves(chosen).writePNG(to: URL(fileURLWithPath: root + "/docs/recipe-search-curves.png"), scale: 2)
        return md
    }

    /// Validation top-1 per epoch of each family's chosen recipe (advanced strategy first).
    public func curves(_ chosen: [String: [String: Trial]]) -> LinePlot {
        var series: [LineSeries] = []
        for model in chosen.keys.sorted() {
            for (strategy, t) in chosen[model]!.sorted(by: { $0.key < $1.key }) {
                let c = t.result.curve ?? []
                series.append(LineSeries(name: "\(model) (\(strategy))", x: c.map { Double($0.epoch) }, y: c.map(\.validationTop1)))
            }
        }
        return LinePlot(title: "Student baselines: validation top-1 of the chosen recipes", xLabel: "epoch",
                        yLabel: "validation top-1 (%)", series: series)
    }

    func markdown(trials: [Trial], chosen: [String: [String: Trial]]) -> String {
        var md = "# Student recipes: the search\n\n"
        md += "Generated by `scalekd recipes` from tables/recipe-search.yaml. Every candidate is a baseline run (seed \(spec.seed), "
        md += "batch \(spec.batchSize), the 1k student subset) measured on the 5k validation split, never on the test split. "
        md += String(format: "Converged: validation top-1 gains less than %.1f points over the last fifth of the epochs. ", RecipeSearch.convergedBelow)
        md += String(format: "Where the best candidate has not converged, the search adds the same recipe at twice its epochs (up to %d; "
            + "marked *added*). ", RecipeSearch.longestExtension)
        md += "Chosen: the highest last-epoch validation top-1 among the converged candidates (within 0.1 point, the fewer epochs). "
        md += "Sanity anchor: \(spec.anchor), a linear classifier on the pixels of the same images; no chosen baseline may end below it.\n\n"
        let anchor = chosen[spec.anchor]?.values.map(\.validationTop1).max()
        md += "| model | strategy | recipe | validation top-1 | gain over last fifth | converged | wall time | chosen |\n"
        md += "|---|---|---|---:|---:|---|---:|---|\n"
        for t in trials {
            let c = t.candidate
            let isChosen = chosen[c.model]?[c.strategy]?.candidate.config.key == c.config.key
            md += "| \(c.model) | \(c.strategy) | \(c.recipe.summary)\(c.extended ? " (*added*)" : "") | " + String(format: "%.2f", t.validationTop1)
            md += " | " + (t.lastFifthGain.map { String(format: "%+.2f", $0) } ?? "?") + " | " + (t.converged ? "yes" : "**no**")
            md += " | \(formatDuration(t.result.wallSeconds)) | " + (isChosen ? "**chosen**" : "") + " |\n"
        }
        let missing = (try? candidates().count).map { $0 - trials.count } ?? 0
        if missing > 0 { md += "\n\(missing) candidate(s) not trained yet (`scalekd recipes` resumes them).\n" }
        md += "\n## Chosen\n\n"
        for model in chosen.keys.sorted() where model != spec.anchor {
            for (strategy, t) in chosen[model]!.sorted(by: { $0.key < $1.key }) {
                var line = "- \(model), \(strategy): \(t.candidate.recipe.summary); validation top-1 " + String(format: "%.2f", t.validationTop1)
                if !t.converged { line += " (**not converged**: no converged candidate reached it)" }
                if let a = anchor {
                    line += t.validationTop1 >= a ? String(format: "; %+.2f over the linear anchor", t.validationTop1 - a)
                        : String(format: "; **below the linear anchor (%.2f)**", a)
                }
                md += line + ".\n"
            }
        }
        md += "\n![validation curves of the chosen recipes](recipe-search-curves.png)\n"
        return md
    }
}
