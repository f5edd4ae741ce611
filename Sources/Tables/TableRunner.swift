import Datasets
import Distill
import Foundation
import Training
import Models
import Store
import Tensor

/// A measured cell: one value per seed (top-1 %, or a derived quantity).
public struct CellValues: Codable {
    public var values: [Double]
    public init(values: [Double]) { self.values = values }
    public var mean: Double { values.reduce(0, +) / Double(max(values.count, 1)) }
    public var std: Double {
        guard values.count > 1 else { return 0 }
        let m = mean
        return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }
}

/// Everything a table run produced, kept as JSON beside the markdown.
public struct TableResult: Codable {
    public var table: Int
    public var title: String
    public var scale: Scale
    public var seeds: Int
    public var cells: [String: [String: CellValues]]
    public var runKeys: [String: [String: [String]]]
    public var claims: [ClaimResult]
    public var wallSeconds: Double
    public var environment: [String: String]
    /// Runs that could not start (a teacher not pre-trained yet), one line each; their
    /// cells stay empty and claims over them are not testable.
    public var pending: [String]? = nil
    /// Sum of the training wall times of the table's distinct runs, as recorded by each run
    /// (whatever the machine's load then): what the table costs from an empty run cache,
    /// teachers aside, when this invocation found some runs cached.
    public var runSeconds: Double? = nil

    public init(table: Int, title: String, scale: Scale, seeds: Int, cells: [String: [String: CellValues]],
                runKeys: [String: [String: [String]]], claims: [ClaimResult], wallSeconds: Double,
                environment: [String: String], pending: [String]? = nil, runSeconds: Double? = nil) {
        self.table = table; self.title = title; self.scale = scale; self.seeds = seeds; self.cells = cells
        self.runKeys = runKeys; self.claims = claims; self.wallSeconds = wallSeconds
        self.environment = environment; self.pending = pending; self.runSeconds = runSeconds
    }
}

/// Resolves a table spec at a scale into runs, trains what the cache lacks, and
/// assembles cells, claims and outputs.
public final class TableRunner {
    public let spec: TableSpec
    public let scale: Scale
    public let seeds: Int
    public let cache: RunCache
    public let outputDirectory: String
    let data: DataCatalog
    let teachers: TeacherProvider

    public init(spec: TableSpec, scale: Scale, seeds: Int? = nil, cache: RunCache = RunCache(),
                outputDirectory: String = "tables/out", data: DataCatalog, store: TeacherStore = TeacherStore()) throws {
        guard let plan = spec.plan[scale.rawValue] else {
            throw SpecError(file: "table \(spec.table)", line: nil, message: "no plan for scale '\(scale)'")
        }
        self.spec = spec
        self.scale = scale
        self.seeds = seeds ?? plan.seeds
        self.cache = cache
        self.outputDirectory = outputDirectory
        self.data = data
        teachers = TeacherProvider(scale: scale, cache: cache, data: data, store: store)
    }

    var plan: ScalePlan { spec.plan[scale.rawValue]! }

    /// The run config of one (row, column, seed).
    public func config(row: RowSpec, column: String, seed: Int) throws -> RunConfig {
        let run = row.runs![column]!
        guard let strategy = TrainingStrategy.named(run.strategy ?? plan.strategy ?? "advanced") else {
            throw SpecError(file: "table \(spec.table)", line: nil, message: "unknown strategy in row \(row.id)")
        }
        // A run's own subset size and length are written for the small scale; the plan may
        // shrink them (ci), so a sweep keeps its shape at every scale.
        func scaled(_ v: Int?, _ factor: Double?) -> Int? { v.map { max(1, Int((Double($0) * (factor ?? 1)).rounded())) } }
        let perClass = scaled(run.perClass, plan.perClassScale) ?? plan.perClass ?? 100
        let validation = plan.validationPerClass ?? scale.validationPerClass
        var split = DataSplit(train: .student, perClass: perClass, testPerClass: plan.testPerClass, validationPerClass: validation)
        var epochs = scaled(run.epochs, plan.epochsScale) ?? plan.epochs
        if run.pretrain == true {
            split = scale.pretrainStandsInForSubset
                ? DataSplit(train: .student, perClass: perClass * 5, subsetSeed: 1, testPerClass: plan.testPerClass, validationPerClass: validation)
                : DataSplit(train: .pretrain, testPerClass: plan.testPerClass, validationPerClass: validation)
            epochs = scaled(run.epochs, plan.epochsScale) ?? plan.pretrainEpochs ?? epochs
        }
        let kind = MethodKind(rawValue: run.method)!  // TableSpec.validate checked it
        let student = run.student ?? row.models["student"]!, teacher = run.teacher ?? row.models["teacher"]
        var method = MethodConfig(name: kind, options: run.options ?? .init(), flags: run.flags ?? .init())
        if let teacher { method = try TeacherSettings.committed().resolved(method, teacher: teacher, student: student) }
        let isBaseline = kind == .baseline
        var initKey: String? = nil
        if let from = run.initFrom { initKey = try config(row: row, column: from, seed: seed).key }
        return RunConfig(model: student, split: split, strategy: strategy, epochs: epochs,
                         batchSize: plan.batchSize ?? 64, seed: UInt64(seed),
                         method: isBaseline ? nil : method, teacher: isBaseline ? nil : teacher,
                         initFrom: initKey, scale: scale)
    }

    /// Every run of the table at this scale, in dependency order (a run that fine-tunes
    /// from another comes after it), each key once.
    public func configs() throws -> [RunConfig] {
        var seen = Set<String>(), out: [RunConfig] = []
        for row in spec.rows {
            for column in columnOrder(row) {
                for seed in 0..<seeds {
                    let c = try config(row: row, column: column, seed: seed)
                    if seen.insert(c.key).inserted { out.append(c) }
                }
            }
        }
        return out
    }

    func columnOrder(_ row: RowSpec) -> [String] {
        (row.runs ?? [:]).keys.sorted { a, b in
            let da = row.runs![a]!.initFrom == nil ? 0 : 1, db = row.runs![b]!.initFrom == nil ? 0 : 1
            return da != db ? da < db : a < b
        }
    }

    /// One of `--jobs` parallel workers (processes): trains each run of the table that no
    /// other process holds, skipping runs whose teacher is missing; returns once every run is
    /// done or cannot start. Runs held by another worker, or waiting for the run they
    /// fine-tune from, are looked at again every few seconds (a worker that dies releases its
    /// lock, and its run is taken over).
    public func trainAvailable() throws {
        var blocked = Set<String>()
        while true {
            var progressed = false, waiting = false
            for config in try configs() where cache.result(for: config) == nil && !blocked.contains(config.key) {
                if let from = config.initFrom, cache.result(key: from) == nil {
                    if blocked.contains(from) { blocked.insert(config.key) } else { waiting = true }
                    continue
                }
                do {
                    if try cache.train(config, data: data, teachers: teachers, wait: false) == nil { waiting = true; continue }
                    progressed = true
                } catch let error as ExperimentError {
                    guard case .teacherMissing = error else { throw error }
                    blocked.insert(config.key)
                }
            }
            if !progressed && !waiting { return }
            if !progressed { Thread.sleep(forTimeInterval: 5) }
        }
    }

    /// Trains (or takes from the cache) one run.
    func result(of config: RunConfig) throws -> RunResult {
        try cache.train(config, data: data, teachers: teachers)!
    }

    /// Trains the table's missing runs in `jobs` processes (this one and `jobs - 1` workers
    /// started with `workerArguments`), then assembles the table and writes its outputs.
    @discardableResult
    public func run(jobs: Int, workerArguments: [String]) throws -> TableResult {
        if jobs > 1 {
            guard let executable = Bundle.main.executableURL else { throw InputError("cannot find this executable to start --jobs workers") }
            let workers = try (1..<jobs).map { _ in
                let p = Process()
                p.executableURL = executable
                p.arguments = workerArguments
                try p.run()
                return p
            }
            try trainAvailable()
            for p in workers {
                p.waitUntilExit()
                if p.terminationStatus != 0 { print("a worker process exited with status \(p.terminationStatus); its runs are retried here") }
            }
        }
        return try run()
    }

    /// Runs the whole table and writes its outputs.
    @discardableResult
    public func run() throws -> TableResult {
        let started = Date()
        var cells: [String: [String: CellValues]] = [:]
        var keys: [String: [String: [String]]] = [:]
        var pending: [String] = []
        var runSeconds: [String: Double] = [:]
        // Runs in dependency order: a column that fine-tunes from another comes after it.
        for row in spec.rows {
            for column in columnOrder(row) {
                for seed in 0..<seeds {
                    let config = try config(row: row, column: column, seed: seed)
                    print("== table \(spec.table) [\(scale)] row \(row.id), \(column), seed \(seed): run \(config.key)")
                    let r: RunResult
                    do { r = try result(of: config) } catch let error as ExperimentError {
                        guard case .teacherMissing = error else { throw error }
                        // The rest of the table still runs; the output lists what is missing and why.
                        print("   skipped: \(error)")
                        pending.append("\(row.id).\(column) (seed \(seed)): \(error)")
                        continue
                    }
                    cells[row.id, default: [:]][column, default: CellValues(values: [])].values.append(r.top1)
                    keys[row.id, default: [:]][column, default: []].append(config.key)
                    runSeconds[config.key] = r.wallSeconds
                }
            }
            for col in spec.columns where col.kind == .viewed {
                guard let column = col.role, row.runs?[column] != nil else { continue }
                let values = try (0..<seeds).map { try viewedSamples(row: row, column: column, seed: $0) }
                cells[row.id, default: [:]][col.id] = CellValues(values: values)
            }
            // Operands of formulas: the row's cells, and its models' params/flops (the same for every seed).
            var operands = cells[row.id] ?? [:]
            for col in spec.columns where col.kind == .params || col.kind == .flops {
                if let cost = TableOutput.modelCost(row.models[col.role ?? "student"]) {
                    operands[col.id] = CellValues(values: Array(repeating: col.kind == .params ? cost.0 : cost.1, count: seeds))
                }
            }
            for col in spec.columns where col.kind == .derived {
                if let v = TableRunner.derive(col.formula!, operands, seeds: seeds) {
                    cells[row.id, default: [:]][col.id] = v
                    operands[col.id] = v
                }
            }
        }
        let claims = (spec.claims ?? []).map { ClaimEvaluator.evaluate($0, cells: cells, rows: spec.rows.map(\.id)) }
        let env = EnvironmentReport.current()
        let result = TableResult(table: spec.table, title: spec.title, scale: scale, seeds: seeds, cells: cells, runKeys: keys,
                                 claims: claims, wallSeconds: Date().timeIntervalSince(started),
                                 environment: Dictionary(uniqueKeysWithValues: env.lines.map { ($0.0, $0.1) }),
                                 pending: pending.isEmpty ? nil : pending, runSeconds: runSeconds.values.reduce(0, +))
        // Figures measured on the trained models (Figure 6) need the runs and teachers, so the
        // runner measures them; TableOutput draws them from the data written here.
        try writeDistanceFigures()
        try TableOutput(spec: spec, result: result, directory: outputDirectory, teachers: teachers.store, runsRoot: cache.root).write()
        return result
    }

    /// Training samples (set size x epochs) one run saw, including the runs it was
    /// initialised from (pre-training before fine-tuning).
    func viewedSamples(row: RowSpec, column: String, seed: Int) throws -> Double {
        let config = try config(row: row, column: column, seed: seed)
        let own = Double(data.trainSet(config.split).count * config.epochs)
        guard let from = row.runs![column]!.initFrom else { return own }
        return own + (try viewedSamples(row: row, column: from, seed: seed))
    }

    /// Per-seed evaluation of "a - b", "a + b", "a / b" or "a * b" over column ids.
    static func derive(_ formula: String, _ row: [String: CellValues], seeds: Int) -> CellValues? {
        let parts = formula.split(separator: " ").map(String.init)
        guard parts.count == 3, let a = row[parts[0]], let b = row[parts[2]], a.values.count == b.values.count else { return nil }
        let op: (Double, Double) -> Double
        switch parts[1] { case "-": op = (-); case "+": op = (+); case "/": op = (/); case "*": op = (*); default: return nil }
        return CellValues(values: zip(a.values, b.values).map(op))
    }
}
