import DenseTransfer
import Distill
import Foundation
import Models
import Training
import Yams

/// One paper table as data (tables/tableNN.yaml). See tables/README.md for the format.
public struct TableSpec: Codable {
    public var table: Int
    public var title: String
    public var caption: String?
    /// Where the paper's numbers come from (PAPER-NUMBERS.md tags).
    public var source: String
    public var notes: [String]?
    public var columns: [ColumnSpec]
    public var rows: [RowSpec]
    /// Per-scale defaults of every run of the table (ci, small, paper).
    public var plan: [String: ScalePlan]
    public var claims: [ClaimSpec]?
    public var figures: [FigureSpec]?
    /// Per-scale settings of the dense transfers behind `dense` columns (Tables 5, 6).
    public var dense: [String: DenseSettings]?
    /// Set when the paper table's content could not be recovered: why, and what is known.
    /// The runner then writes an output that says so and exits cleanly; columns and rows
    /// may be empty (a user with the paper fills them in).
    public var unrecovered: String?

    /// Whether anything of ours is trained or measured (else no plan is needed).
    public var hasRunsOrSteps: Bool { columns.contains { $0.kind == .run || $0.kind == .step } }
}

public struct ColumnSpec: Codable {
    public var id: String
    public var header: String
    /// label: text from the row's labels; run: a trained run's top-1; derived: a formula
    /// over other columns; params/flops: counted from the row's model of `model` role;
    /// paper: a paper-only number (nothing of ours to compare).
    public var kind: Kind
    public var formula: String?
    public var role: String?
    /// strategy: the value of the setting named by the row id (optimizer, learning_rate,
    /// weight_decay, momentum, schedule, warmup_epochs, label_smoothing, gradient_clip,
    /// augmentation, batch_size, epochs) in the suite's strategy named by `role`
    /// (traditional or advanced), read from the code so the table cannot drift from it.
    /// viewed: the training samples (set size x epochs) the row's run of column `role`
    /// saw, plus those of the runs it was initialised from (Table 4's "viewed samples"; the
    /// paper's values are in millions, ours a plain count).
    /// dense: metric `metric` (DenseMetrics.names: box_ap, mask_ap_s, miou, ...) of heads
    /// trained on canvases over the backbone of the row's run column `role` (DenseTransfer).
    /// dense_setting: the dense setting named by the row id in the `dense:` section of table
    /// `role` (e.g. table05) at this scale (Table 11).
    /// step: a training step of the row's run in this column (declared in `runs` like a run
    /// column, but not trained), timed in a child process of its own on this machine:
    /// seconds per step. peak_memory / epoch_seconds: that child's peak RSS (MiB) and its
    /// step time x the steps of one epoch of the run; `role` names the step column.
    public enum Kind: String, Codable {
        case label, run, derived, params, flops, paper, strategy, viewed, teacherTop1 = "teacher_top1"
        case dense, denseSetting = "dense_setting"
        case step, peakMemory = "peak_memory", epochSeconds = "epoch_seconds"

        /// Kinds measured from a timed step (Table 15's cost cells): they vary with the
        /// machine and its load, so the CI regression checks presence, not values.
        public var isCost: Bool { self == .step || self == .peakMemory || self == .epochSeconds }
    }
    public var metric: String?
    /// Shown in a detail table under the main one (e.g. AP_S/M/L), not in the main table.
    public var detail: Bool?
}

public struct RowSpec: Codable {
    public var id: String
    public var labels: [String: String]?
    /// The paper's numbers by column id; a missing column is "unknown".
    public var paper: [String: Double]?
    /// Models of the row by role (teacher, student) at the mini scales.
    public var models: [String: String]
    /// The paper-size presets of the row by role, for the paper-scale plan (PaperPlan.swift).
    public var paperModels: [String: String]?
    /// Runs by column id.
    public var runs: [String: RunSpec]?

    /// The row's models by role at a scale: the paper presets at paper scale, else the minis.
    public func models(at scale: Scale) -> [String: String] { scale == .paper ? paperModels ?? [:] : models }
}

/// A run as a table declares it; unspecified fields come from the scale's plan.
public struct RunSpec: Codable {
    public var method: String
    public var student: String?
    public var teacher: String?
    public var strategy: String?
    public var epochs: Int?
    public var flags: MethodFlags?
    public var options: MethodOptions?
    /// Train on the pre-training set (55k) instead of the student subset.
    public var pretrain: Bool?
    /// Student subset size per class (default the plan's).
    public var perClass: Int?
    /// Start from another column's run of the same row (fine-tuning).
    public var initFrom: String?
    /// As many optimizer steps as the student's run on the plan's subset: its epochs (the
    /// recipe's at small scale) x the plan's perClass / this run's perClass, rounded, at least
    /// 1. A subset sweep then changes only how much distinct data the student sees.
    public var sameSteps: Bool?
}

public struct ScalePlan: Codable {
    public var epochs: Int
    public var seeds: Int
    public var batchSize: Int?
    public var strategy: String?
    public var perClass: Int?
    public var testPerClass: Int?
    /// Validation images per class (default: the scale's; the whole 5k split at small).
    public var validationPerClass: Int?
    public var pretrainEpochs: Int?
    /// Instead of `pretrainEpochs`: pre-training epochs such that pre-training then
    /// fine-tuning views this many times the samples of the student's run on the subset
    /// (its epochs, the recipe's at small scale): (ratio - 1) x subset images x epochs /
    /// pre-training images, rounded, at least 1. Keeps the paper's proportion when the
    /// recipes change the subset epochs.
    public var pretrainViewRatio: Double?
    /// Multiply a run's own `perClass` / `epochs` override at this scale (rounded, at least 1),
    /// so a sweep written for the small scale (e.g. perClass 100..1000) shrinks with the plan
    /// at ci; nil = 1.
    public var perClassScale: Double?
    public var epochsScale: Double?
    /// Timed steps of each `step` column's measurement, after two warm-up steps (default 3).
    public var timedSteps: Int?
    /// What this scale leaves out and why, keyed by a row id, a column id or `kind:<column
    /// kind>` (e.g. `kind:dense`): nothing of theirs runs at this scale, and the table and the
    /// paper dry run say why (e.g. rows that need IN-22K pre-training at paper scale).
    public var omitted: [String: String]?
}

extension ScalePlan {
    /// Why this scale leaves out the column (by its id or its kind), or nil when it runs.
    public func omission(_ column: ColumnSpec) -> String? { omitted?[column.id] ?? omitted?["kind:" + column.kind.rawValue] }
    /// Why this scale leaves out the row's run in `column`, or nil when it runs.
    public func omission(row: String, column: String, of spec: TableSpec) -> String? {
        omitted?[row] ?? spec.columns.first { $0.id == column }.flatMap(omission)
    }
    public func omits(row: String) -> Bool { omitted?[row] != nil }
    public func omits(_ column: ColumnSpec) -> Bool { omission(column) != nil }
    public func omits(row: String, column: String, of spec: TableSpec) -> Bool { omission(row: row, column: column, of: spec) != nil }
    /// "what: why", one per omission, for outputs and dry runs.
    public var omissionLines: [String] {
        (omitted ?? [:]).sorted { $0.key < $1.key }.map { key, why in
            let what = key.hasPrefix("kind:") ? "the \(key.dropFirst(5)) columns" : "`\(key)`"
            return "\(what): \(why)"
        }
    }
}

/// A paper claim as a predicate over table cells ("row.column" references).
public struct ClaimSpec: Codable {
    public var id: String
    public var statement: String
    /// greater: `cell` beats every one of `than`.
    /// allRows: for every row having both, column `cell` beats column `than[0]`.
    /// increasing: the cells listed in `than` increase in order.
    /// mean_rows: averaged over the rows having both (per seed), column `cell` beats column
    /// `than[0]` (e.g. the mean gain over Table 3's 11 pairs is positive).
    public var kind: Kind
    public var cell: String?
    public var than: [String]
    /// A quote of the paper with its section, table or figure, or "suite expectation" for
    /// the suite's own readings (counted apart in the report).
    public var source: String?
    public enum Kind: String, Codable { case greater, allRows = "all_rows", increasing, meanRows = "mean_rows" }

    /// Whether the claim names columns (compared in every row) rather than row.column cells.
    public var comparesColumns: Bool { kind == .allRows || kind == .meanRows }

    public static let suiteExpectation = "suite expectation"

    public init(id: String, statement: String, kind: Kind, cell: String?, than: [String], source: String? = nil) {
        self.id = id; self.statement = statement; self.kind = kind; self.cell = cell; self.than = than; self.source = source
    }
}

/// A figure of the table (tables/out/<stem>-<id>.png).
/// kind line: for each of `rows` (default: every row with a run in `column`), the mean ± std
/// of `column` against that row's run option named `x` (e.g. beta: Figure 4).
/// kind distance_scatter: Figure 6, the teacher-student distances of the DC-removed last-stage
/// features of the runs in `column` of rows `without` (no DFM) and `with` (DFM), over the first
/// `samples` test images, PCA'd to 2-D, `points` of them drawn (DistanceScatter.swift); its
/// data goes to tables/out/<stem>-<id>.h5.
public struct FigureSpec: Codable {
    public var id: String
    public var kind: String
    public var title: String
    public var x: String?
    public var rows: [String]?
    public var column: String?
    public var without: String?
    public var with: String?
    public var samples: Int?
    public var points: Int?

    public static let line = "line", distanceScatter = "distance_scatter"
}

extension TableSpec {
    /// tables/tableNN.yaml of a table named "table3", "table03" or "3".
    public static func path(table name: String) throws -> String {
        guard let n = Int(name.filter(\.isNumber)), n >= 1 else { throw InputError("name a table: table3, table03 or 3 (got '\(name)')") }
        return String(format: "tables/table%02d.yaml", n)
    }

    /// Where table `n`'s markdown goes in an output directory.
    public static func outputPath(table n: Int, directory: String) -> String { String(format: "%@/table%02d.md", directory, n) }

    /// Loads the spec of a table named "table3", "table03" or "3".
    public static func load(table name: String) throws -> TableSpec {
        let path = try path(table: name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError("\(path) does not exist: that table has no spec yet (see tables/README.md to add one)")
        }
        return try load(path)
    }

    /// Parses and validates a spec; errors name the file and line.
    public static func load(_ path: String) throws -> TableSpec {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, message: "cannot read the file")
        }
        let spec = try StrictYAML.decode(TableSpec.self, from: text, file: path)
        try spec.validate(file: path, text: text)
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if let n = Int(stem.filter(\.isNumber)), stem.hasPrefix("table"), n != spec.table {
            throw SpecError(file: path, line: StrictYAML.line(ofTopLevelKey: "table", in: text),
                            message: "the spec says table \(spec.table) but the file is \(stem).yaml: a run would write table \(spec.table)'s outputs")
        }
        return spec
    }

    func validate(file: String, text: String) throws {
        func fail(_ msg: String, _ path: [String]) throws -> Never {
            struct K: CodingKey {
                var stringValue: String; var intValue: Int?
                init(_ s: String) { stringValue = s; intValue = Int(s) }
                init?(stringValue: String) { self.init(stringValue) }
                init?(intValue: Int) { self.init(String(intValue)) }
            }
            throw SpecError(file: file, line: StrictYAML.line(of: path.map(K.init), in: text), message: msg)
        }
        let columnIDs = Set(columns.map(\.id))
        if columnIDs.count != columns.count { try fail("duplicate column ids", ["columns"]) }
        var rowIDs = Set<String>()
        for (i, c) in columns.enumerated() {
            if c.kind == .derived && c.formula == nil { try fail("derived column '\(c.id)' needs a formula", ["columns", "\(i)"]) }
            if c.kind == .strategy && TrainingStrategy.named(c.role ?? "") == nil {
                try fail("strategy column '\(c.id)' needs role traditional or advanced", ["columns", "\(i)"])
            }
            if (c.kind == .params || c.kind == .flops || c.kind == .teacherTop1) && c.role == nil {
                try fail("column '\(c.id)' needs a role (teacher or student)", ["columns", "\(i)"])
            }
            if c.kind == .viewed && !columns.contains(where: { $0.id == c.role && $0.kind == .run }) {
                try fail("viewed column '\(c.id)' needs a role naming a run column", ["columns", "\(i)"])
            }
            if c.kind == .dense {
                if !columns.contains(where: { $0.id == c.role && $0.kind == .run }) {
                    try fail("dense column '\(c.id)' needs a role naming the run column of its backbone", ["columns", "\(i)"])
                }
                if !DenseMetrics.names.contains(c.metric ?? "") {
                    try fail("dense column '\(c.id)': metric '\(c.metric ?? "")' is not one of \(DenseMetrics.names.joined(separator: ", "))", ["columns", "\(i)"])
                }
            }
            if c.kind == .denseSetting && c.role == nil {
                try fail("dense_setting column '\(c.id)' needs a role naming the table whose dense settings it lists (e.g. table05)", ["columns", "\(i)"])
            }
            if (c.kind == .peakMemory || c.kind == .epochSeconds) && !columns.contains(where: { $0.id == c.role && $0.kind == .step }) {
                try fail("\(c.kind.rawValue) column '\(c.id)' needs a role naming a step column", ["columns", "\(i)"])
            }
            if c.kind == .derived, let f = c.formula {
                let parts = f.split(separator: " ").map(String.init)
                let operandKinds: Set<ColumnSpec.Kind> = [.run, .derived, .params, .flops, .viewed, .dense, .step, .peakMemory, .epochSeconds]
                guard parts.count == 3, ["+", "-", "*", "/"].contains(parts[1]) else {
                    try fail("formula '\(f)' of column '\(c.id)' must be 'a op b' with op one of + - * /", ["columns", "\(i)"])
                }
                for operand in [parts[0], parts[2]] where !columns.contains(where: { $0.id == operand && operandKinds.contains($0.kind) }) {
                    try fail("formula '\(f)' of column '\(c.id)': '\(operand)' is not a run, derived, params, flops, viewed, dense or cost column", ["columns", "\(i)"])
                }
            }
        }
        if columns.contains(where: { $0.kind == .dense }) {
            for scale in plan.keys where scale != Scale.paper.rawValue && dense?[scale] == nil {
                try fail("the table has dense columns but no dense settings for scale '\(scale)' (add dense: {\(scale): {...}})", ["plan", scale])
            }
        }
        for (scale, settings) in dense ?? [:] {
            for p in settings.problems() { try fail("dense \(scale): \(p)", ["dense", scale]) }
        }
        for (i, r) in rows.enumerated() {
            if !rowIDs.insert(r.id).inserted { try fail("duplicate row id '\(r.id)'", ["rows", "\(i)"]) }
            // An unknown label key is usually an unquoted comma in a flow map ({a: x, y}).
            for k in (r.labels ?? [:]).keys where !columns.contains(where: { $0.id == k && $0.kind == .label }) {
                try fail("label for '\(k)', which is not a label column (quote label text that contains a comma)", ["rows", "\(i)", "labels"])
            }
            for k in (r.paper ?? [:]).keys where !columnIDs.contains(k) {
                try fail("paper value for unknown column '\(k)'", ["rows", "\(i)", "paper"])
            }
            for (k, run) in r.runs ?? [:] {
                guard let col = columns.first(where: { $0.id == k }) else { try fail("run for unknown column '\(k)'", ["rows", "\(i)", "runs"]) }
                if col.kind != .run && col.kind != .step { try fail("column '\(k)' is not a run or step column", ["rows", "\(i)", "runs", k]) }
                let at = ["rows", "\(i)", "runs", k]
                guard let kind = MethodKind(rawValue: run.method) else {
                    try fail("run '\(k)': unknown method '\(run.method)' (methods: \(MethodKind.allCases.map(\.rawValue).joined(separator: ", ")))", at)
                }
                guard let student = run.student ?? r.models["student"] else { try fail("run '\(k)' has no student", at) }
                if Zoo.preset(named: student) == nil { try fail("run '\(k)': unknown student model '\(student)' (`scalekd models --scale small` lists them)", at) }
                if kind != .baseline {
                    guard let teacher = run.teacher ?? r.models["teacher"] else { try fail("run '\(k)': method \(run.method) needs a teacher", at) }
                    guard let preset = Zoo.preset(named: teacher) else { try fail("run '\(k)': unknown teacher model '\(teacher)'", at) }
                    if !preset.isTeacher { try fail("run '\(k)': '\(teacher)' cannot be a teacher (teachers: \(Zoo.presets.filter(\.isTeacher).map(\.name).joined(separator: ", ")))", at) }
                }
                if let s = run.strategy, TrainingStrategy.named(s) == nil { try fail("run '\(k)': unknown strategy '\(s)' (traditional or advanced)", at) }
                for p in run.options?.problems() ?? [] { try fail("run '\(k)': \(p)", at + ["options"]) }
                if let e = run.epochs, e < 1 { try fail("run '\(k)': epochs must be at least 1 (got \(e))", at) }
                if let n = run.perClass, n < 1 { try fail("run '\(k)': perClass must be at least 1 (got \(n))", at) }
                if let f = run.initFrom, r.runs?[f] == nil { try fail("initFrom '\(f)' is not a run of this row", ["rows", "\(i)", "runs", k]) }
                if run.sameSteps == true && (run.epochs != nil || run.pretrain == true) {
                    try fail("sameSteps derives the run's epochs from the subset run's: drop `epochs` (and it does not apply to a pre-training run)", ["rows", "\(i)", "runs", k])
                }
            }
        }
        for (scale, p) in plan {
            if Scale(rawValue: scale) == nil { try fail("unknown scale '\(scale)' (ci, small or paper)", ["plan", scale]) }
            for (name, v) in [("epochs", p.epochs), ("seeds", p.seeds), ("batchSize", p.batchSize), ("perClass", p.perClass),
                              ("testPerClass", p.testPerClass), ("validationPerClass", p.validationPerClass), ("pretrainEpochs", p.pretrainEpochs),
                              ("timedSteps", p.timedSteps)] {
                if let v, v < 1 { try fail("plan \(scale): \(name) must be at least 1 (got \(v))", ["plan", scale]) }
            }
            for (name, v) in [("perClassScale", p.perClassScale), ("epochsScale", p.epochsScale)] {
                if let v, !(v.isFinite && v > 0) { try fail("plan \(scale): \(name) must be > 0 (got \(v))", ["plan", scale]) }
            }
            for key in (p.omitted ?? [:]).keys.sorted() where !rowIDs.contains(key) && !columnIDs.contains(key)
                && !(key.hasPrefix("kind:") && columns.contains { "kind:" + $0.kind.rawValue == key }) {
                try fail("plan \(scale): omitted '\(key)' is not a row id, a column id or kind:<a column kind of this table>", ["plan", scale])
            }
        }
        for (i, fig) in (figures ?? []).enumerated() {
            let at = ["figures", "\(i)"]
            guard [FigureSpec.line, FigureSpec.distanceScatter].contains(fig.kind) else {
                try fail("figure '\(fig.id)': unknown kind '\(fig.kind)' (supported: line, distance_scatter)", at)
            }
            if fig.kind == FigureSpec.distanceScatter {
                try validateDistanceScatter(fig, fail: { try fail($0, at) })
                continue
            }
            guard let x = fig.x else { try fail("figure '\(fig.id)' needs x (the run option on the x axis)", at) }
            guard let colID = fig.column, let col = columns.first(where: { $0.id == colID }) else {
                try fail("figure '\(fig.id)': column '\(fig.column ?? "")' is not a column of the table", at)
            }
            if col.kind != .run { try fail("figure '\(fig.id)': column '\(colID)' is not a run column", at) }
            for rowID in fig.rows ?? rows.filter({ $0.runs?[colID] != nil }).map(\.id) {
                guard let row = rows.first(where: { $0.id == rowID }) else { try fail("figure '\(fig.id)': unknown row '\(rowID)'", at) }
                guard let run = row.runs?[colID] else { try fail("figure '\(fig.id)': row '\(rowID)' has no run in column '\(colID)'", at) }
                if run.options?.value(named: x) == nil { try fail("figure '\(fig.id)': row '\(rowID)' sets no option '\(x)' in its '\(colID)' run", at) }
            }
        }
        for (i, claim) in (claims ?? []).enumerated() {
            let refs = (claim.cell.map { [$0] } ?? []) + claim.than
            for ref in refs {
                let parts = ref.split(separator: ".").map(String.init)
                let colID = claim.comparesColumns ? ref : parts.last!
                if !claim.comparesColumns && (parts.count != 2 || !rowIDs.contains(parts[0])) {
                    try fail("claim reference '\(ref)' must be row.column with a known row", ["claims", "\(i)"])
                }
                if !columnIDs.contains(colID) { try fail("claim reference '\(ref)': unknown column", ["claims", "\(i)"]) }
            }
        }
    }

    /// A distance_scatter figure compares two ScaleKD runs with CAP, one without DFM and one with it.
    func validateDistanceScatter(_ fig: FigureSpec, fail: (String) throws -> Never) throws {
        guard let colID = fig.column, columns.contains(where: { $0.id == colID && $0.kind == .run }) else {
            try fail("figure '\(fig.id)': column '\(fig.column ?? "")' is not a run column of the table")
        }
        for (key, rowID, wantsDFM) in [("without", fig.without, false), ("with", fig.with, true)] {
            guard let rowID else { try fail("figure '\(fig.id)' needs \(key) (the row whose run \(wantsDFM ? "has" : "lacks") DFM)") }
            guard let row = rows.first(where: { $0.id == rowID }) else { try fail("figure '\(fig.id)': unknown row '\(rowID)'") }
            guard let run = row.runs?[colID] else { try fail("figure '\(fig.id)': row '\(rowID)' has no run in column '\(colID)'") }
            if run.method != "scalekd" || run.flags?.cap == false || run.flags?.stage4 == false {
                try fail("figure '\(fig.id)': row '\(rowID)' must be a scalekd run with CAP on stage 4 (its projector output is the student feature)")
            }
            if (run.flags?.dfm ?? true) != wantsDFM {
                try fail("figure '\(fig.id)': the \(key) row '\(rowID)' \(wantsDFM ? "turns DFM off" : "has DFM on (set flags: {dfm: false})")")
            }
        }
        if let n = fig.samples, n < 2 { try fail("figure '\(fig.id)': samples must be at least 2") }
        if let n = fig.points, n < 1 { try fail("figure '\(fig.id)': points must be at least 1") }
    }
}
