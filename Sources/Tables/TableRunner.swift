import Datasets
import Distill
import Foundation
import Training
import Models
import Store
import Tensor

/// Resolves a table spec at a scale into runs, trains what the cache lacks, and
/// assembles cells, claims and outputs.
public final class TableRunner {
    public let spec: TableSpec
    public let scale: Scale
    public let seeds: Int
    public let cache: RunCache
    public let outputDirectory: String
    /// Where the runs' images come from: Fashion-MNIST (ci, small) or ImageNet folders (paper).
    let data: TrainingData
    /// Fashion-MNIST at ci and small scale, where dense transfers and distance figures measure.
    let catalog: DataCatalog?
    /// The committed or ci-trained teachers (TeacherProvider), or the paper scale's weights files.
    let teachers: TeacherSource
    let teacherStore: TeacherStore
    /// Paper scale: the data, teacher weights, Table 10's recipes and a smoke run's overrides.
    let paper: PaperScaleInputs?
    let plan: ScalePlan
    /// Times one training step of a run configuration in a child process of its own, for
    /// `step` columns: (timed steps after warm-up) -> (seconds per step, peak RSS in MiB).
    /// Set by the executable (Bench's child-process jobs; Tables cannot import Bench).
    public var measureStep: ((RunConfig, Int) throws -> (seconds: Double, peakMiB: Double))?
    var measuredSteps: [String: (seconds: Double, peakMiB: Double)] = [:]
    /// The processes every run trains in: one, or the ranks of `mpirun -np N` (each run then
    /// splits its batches over all ranks and rank 0 alone writes records and outputs).
    public var dataParallel: DataParallel = .single { didSet { ranks = dataParallel.worldSize } }
    /// The rank count in the runs' keys (a run's numbers depend on it): the world's, or, to
    /// assemble a table whose runs trained under mpirun from one process, theirs (`--ranks`).
    /// A run it names that is missing cannot be trained by another count of processes.
    public var ranks = 1

    /// A runner at ci or small scale, or at paper scale for a table with nothing to train.
    public convenience init(spec: TableSpec, scale: Scale, seeds: Int? = nil, cache: RunCache = RunCache(),
                            outputDirectory: String = "tables/out", data: DataCatalog, store: TeacherStore = TeacherStore()) throws {
        // Paper runs train the paper presets on ImageNet folders (init(spec:paper:)), never the
        // mini models on Fashion-MNIST. A table with nothing to train or time (a settings
        // table, an unrecovered one) writes its output at any scale.
        if scale == .paper && spec.hasRunsOrSteps {
            _ = try spec.paperPlan()
            throw InputError("table \(spec.table) trains at paper scale on ImageNet: give --data <root with train/ and val/> and "
                + "--teacher-weights <teacher>=<file.safetensors> (`--dry-run` prints its runs and their cost without them)")
        }
        try self.init(spec: spec, scale: scale, seeds: seeds, cache: cache, outputDirectory: outputDirectory, data: data,
                      catalog: data, teachers: TeacherProvider(scale: scale, cache: cache, data: data, store: store),
                      teacherStore: store, paper: nil)
    }

    /// A runner of the table's paper plan (PaperPlan): the paper presets with Table 10's
    /// recipes, trained on `paper.data` from the teachers' weights files.
    public convenience init(spec: TableSpec, paper: PaperScaleInputs, seeds: Int? = nil, cache: RunCache = RunCache(),
                            outputDirectory: String = Scale.paper.defaultOutputDirectory) throws {
        if spec.hasRunsOrSteps { _ = try spec.paperPlan() }
        try self.init(spec: spec, scale: .paper, seeds: seeds, cache: cache, outputDirectory: outputDirectory, data: paper.data,
                      catalog: nil, teachers: paper.teachers, teacherStore: TeacherStore(), paper: paper)
    }

    private init(spec: TableSpec, scale: Scale, seeds: Int?, cache: RunCache, outputDirectory: String, data: TrainingData,
                 catalog: DataCatalog?, teachers: TeacherSource, teacherStore: TeacherStore, paper: PaperScaleInputs?) throws {
        // A table that neither trains nor measures (a settings table, an unrecovered one) needs no plan.
        guard let plan = spec.plan[scale.rawValue] ?? (spec.hasRunsOrSteps ? nil : ScalePlan(epochs: 1, seeds: 1)) else {
            throw SpecError(file: "table \(spec.table)", line: nil, message: "no plan for scale '\(scale)'")
        }
        self.plan = plan
        self.spec = spec
        self.scale = scale
        self.seeds = seeds ?? plan.seeds
        self.cache = cache
        self.outputDirectory = outputDirectory
        self.data = data
        self.catalog = catalog
        self.teachers = teachers
        self.teacherStore = teacherStore
        self.paper = paper
    }

    /// The teachers manifest, read once per runner (config() runs per row, column and seed).
    private lazy var teacherRecordsResult = Result { try teacherStore.records() }
    var teacherRecords: [TeacherRecord] { get throws { try teacherRecordsResult.get() } }
    /// The run config of one (row, column, seed).
    public func config(row: RowSpec, column: String, seed: Int) throws -> RunConfig {
        var c = try paper.map { try paperConfig(row: row, column: column, seed: seed, $0) } ?? smallConfig(row: row, column: column, seed: seed)
        c.worldSize = ranks > 1 ? ranks : nil
        return c
    }

    /// Refuses to train runs keyed for another number of processes than will train them: the
    /// world's ranks, or this process `alone` (assembly, which rank 0 does by itself).
    func requireTrainable(_ configs: [RunConfig], alone: Bool = false) throws {
        let processes = alone ? 1 : dataParallel.worldSize
        guard ranks != processes else { return }
        let missing = configs.filter { cache.result(for: $0) == nil }
        guard let first = missing.first else { return }
        throw InputError("table \(spec.table): \(missing.count) runs keyed for \(ranks) data-parallel ranks are missing (first: \(first.key), "
            + "\(first.model)); train them under `mpirun -np \(ranks)` (`scalekd run table\(spec.table)` with the same options), not in \(processes) process(es)")
    }

    func smallConfig(row: RowSpec, column: String, seed: Int) throws -> RunConfig {
        let run = row.runs![column]!
        guard var strategy = TrainingStrategy.named(run.strategy ?? plan.strategy ?? "advanced") else {
            throw SpecError(file: "table \(spec.table)", line: nil, message: "unknown strategy in row \(row.id)")
        }
        // A run's own subset size and length are written for the small scale; the plan may
        // shrink them (ci), so a sweep keeps its shape at every scale.
        func scaled(_ v: Int?, _ factor: Double?) -> Int? { v.map { max(1, Int((Double($0) * (factor ?? 1)).rounded())) } }
        let subsetPerClass = plan.perClass ?? 100
        let perClass = scaled(run.perClass, plan.perClassScale) ?? subsetPerClass
        let validation = plan.validationPerClass ?? scale.validationPerClass
        var split = DataSplit(train: .student, perClass: perClass, testPerClass: plan.testPerClass, validationPerClass: validation)
        var epochs = scaled(run.epochs, plan.epochsScale) ?? plan.epochs
        let kind = MethodKind(rawValue: run.method)!  // TableSpec.validate checked it
        let student = run.student ?? row.models["student"]!, teacher = run.teacher ?? row.models["teacher"]
        // The student's run on the plan's subset: at small scale its family's recipe.
        let recipe = try StudentRecipes.committed().resolve(model: student, strategy: strategy, epochs: nil,
                                                            fallbackEpochs: plan.epochs, scale: scale)
        if run.pretrain == true {
            split = scale.pretrainStandsInForSubset
                ? DataSplit(train: .student, perClass: perClass * 5, subsetSeed: 1, testPerClass: plan.testPerClass, validationPerClass: validation)
                : DataSplit(train: .pretrain, testPerClass: plan.testPerClass, validationPerClass: validation)
            epochs = scaled(run.epochs, plan.epochsScale) ?? plan.pretrainEpochs ?? epochs
            if run.epochs == nil, let ratio = plan.pretrainViewRatio {
                let subsetImages = Double(try data.imageSets(for: DataSplit(train: .student, perClass: subsetPerClass)).train.count)
                let pretrainImages = Double(try data.imageSets(for: split).train.count)
                epochs = max(1, Int(((ratio - 1) * subsetImages * Double(recipe.epochs) / pretrainImages).rounded()))
            }
        } else if run.sameSteps == true {
            strategy = recipe.strategy
            epochs = max(1, Int((Double(recipe.epochs) * Double(subsetPerClass) / Double(perClass)).rounded()))
        } else if run.epochs == nil {
            // At small scale a run without its own epochs trains with its family's recipe (a
            // run with its own keeps them, set above, and the plan's strategy).
            (strategy, epochs) = (recipe.strategy, recipe.epochs)
        }
        var method = MethodConfig(name: kind, options: run.options ?? .init(), flags: run.flags ?? .init())
        if let teacher { method = try TeacherSettings.committed().resolved(method, teacher: teacher, student: student) }
        let isBaseline = kind == .baseline
        var initKey: String? = nil
        if let from = run.initFrom { initKey = try config(row: row, column: from, seed: seed).key }
        let distilled = isBaseline ? nil : teacher
        return RunConfig(model: student, split: split, strategy: strategy, epochs: epochs,
                         batchSize: plan.batchSize ?? 64, seed: UInt64(seed),
                         method: isBaseline ? nil : method, teacher: distilled,
                         teacherWeights: try distilled.flatMap { try teacherStore.weightsID($0, scale: scale, records: teacherRecords) },
                         initFrom: initKey, scale: scale)
    }

    /// A paper-scale run: the cell's paper presets and recipe (PaperPlan.run), on the
    /// student's crops of the given ImageNet copy, its teacher named by its weights' SHA-256.
    func paperConfig(row: RowSpec, column: String, seed: Int, _ paper: PaperScaleInputs) throws -> RunConfig {
        let run = try PaperPlan.run(row: row, column: column, of: spec, recipes: paper.recipes)
        let student = Zoo.preset(named: run.student)!  // PaperPlan.run checked it
        let split = paper.data.split(imageSize: student.inputSize, interpolation: .timmDefault(forFamily: student.family),
                                     limitPerClass: paper.limitPerClass)
        // PaperPlan.run gives a teacher exactly when the method distils.
        let method = try run.teacher.map { teacher in
            try TeacherSettings.committed().resolved(MethodConfig(name: MethodKind(rawValue: run.method)!, options: run.options ?? .init(),
                                                                  flags: run.flags ?? .init()),
                                                     teacher: teacher, student: run.student)
        }
        // A timed step (Table 15) runs one GPU's share of the recipe's batch, as the paper's per-GPU memory is measured.
        let timed = spec.columns.contains { $0.id == column && $0.kind == .step }
        return RunConfig(model: run.student, split: split, strategy: try paper.trainingStrategy(run.recipe, run.strategy),
                         epochs: paper.epochs ?? run.epochs,
                         batchSize: paper.batchSize ?? (timed ? run.recipe.perGPUBatch : run.recipe.globalBatch), seed: UInt64(seed),
                         method: method, teacher: run.teacher,
                         teacherWeights: try run.teacher.map { try paper.teachers.sha256(of: $0) }, scale: .paper)
    }

    /// A paper teacher's top-1 on val/ (the paper's teacher column beside ours), measured once
    /// per weights file, copy of val/ and crop, and kept in the run cache (runs/teacher-eval/).
    /// The crop is the runs' (resize 256 for 224, timm's default crop_pct 0.875; timm's Swin-L
    /// card uses 0.9: `scalekd eval --resize 248` gives that reading).
    func paperTeacherTop1(_ teacher: String, _ paper: PaperScaleInputs) throws -> Double {
        guard let preset = Zoo.preset(named: teacher) else { throw TrainingError.unknownModel(teacher) }
        let split = paper.data.split(imageSize: preset.inputSize, interpolation: .timmDefault(forFamily: preset.family),
                                     limitPerClass: paper.limitPerClass)
        let folders = split.folders!
        let what = "\(teacher) \(try paper.teachers.sha256(of: teacher)) val \(folders.validationFileList) limit \(folders.limitPerClass ?? 0) "
            + "size \(folders.imageSize) resize \(folders.evaluationResize) \(folders.interpolation.rawValue)"
        let path = "\(cache.root)/teacher-eval/\(teacher)-\(SHA256.hexDigest(what).prefix(16)).json"
        struct Measured: Codable { var what: String; var top1: Double; var top5: Double }
        if let data = FileManager.default.contents(atPath: path), let known = try? JSONDecoder().decode(Measured.self, from: data) {
            return known.top1
        }
        print("== table \(spec.table) [paper] teacher \(teacher): top-1 on \(paper.data.root)/val (once per weights file)")
        let model = try teachers.teacher(teacher)
        let r = Trainer.evaluate(model, on: try paper.data.imageSets(for: split).validation)
        model.setTraining(false)  // a frozen teacher stays in eval mode between steps (Distiller)
        try FileManager.default.createDirectory(atPath: "\(cache.root)/teacher-eval", withIntermediateDirectories: true)
        try AtomicWrite.write(try JSONEncoder().encode(Measured(what: what, top1: r.top1, top5: r.top5)), to: path)
        return r.top1
    }

    /// Every run of the table at this scale, each key once, seed by seed (every cell's seed
    /// 0, then every cell's seed 1, ...: a long campaign has a whole table at one seed first,
    /// and each later seed completes it evenly), and within a seed in dependency order (a run
    /// that fine-tunes from another comes after it). `rows` keeps only those rows' runs.
    public func configs(rows: Set<String>? = nil) throws -> [RunConfig] {
        try plannedRuns(rows: rows).map(\.config)
    }

    /// Each run of `configs(rows:)` with the cells it fills ("row/column seed N"; rows may share a run).
    public func plannedRuns(rows: Set<String>? = nil) throws -> [(config: RunConfig, cells: [String])] {
        var index: [String: Int] = [:], out: [(config: RunConfig, cells: [String])] = []
        for seed in 0..<seeds {
            for row in spec.rows where rows?.contains(row.id) ?? true {
                for column in columnOrder(row) {
                    let c = try config(row: row, column: column, seed: seed), cell = "\(row.id)/\(column) seed \(seed)"
                    if let i = index[c.key] { out[i].cells.append(cell) } else { index[c.key] = out.count; out.append((c, [cell])) }
                }
            }
        }
        return out
    }

    /// A run's work: its optimizer steps and the images its evaluations read (the sampled
    /// validation passes and the final test pass, Trainer.evaluatedEpochs).
    public func workload(of config: RunConfig) throws -> (steps: Int, evaluationImages: Int) {
        let sets = try data.imageSets(for: config.split)
        let evaluated = Trainer.evaluatedEpochs(of: config.epochs, trainImages: sets.train.count, validationImages: sets.validation.count)
        return (config.epochs * sets.train.trainingSteps(batchSize: config.batchSize), evaluated.count * sets.validation.count + sets.test.count)
    }

    /// The row's trained run columns (not its timed `step` columns, nor what this scale's plan
    /// omits), fine-tuning ones last.
    func columnOrder(_ row: RowSpec) -> [String] {
        let trained = plan.omits(row: row.id) ? [] : Set(spec.columns.filter { $0.kind == .run && !plan.omits($0) }.map(\.id))
        return (row.runs ?? [:]).keys.filter(trained.contains).sorted { a, b in
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
        try train(try configs())
    }

    /// Trains what the cache lacks of `configs`, then keeps the final weights later steps read.
    private func train(_ configs: [RunConfig]) throws {
        if paper != nil {
            // Each teacher's weights load (every tensor's name and shape checked) before any run
            // trains, not when its first distillation starts after days of baselines.
            for name in Set(configs.compactMap(\.teacher)).sorted() { _ = try teachers.teacher(name) }
        }
        try requireTrainable(configs)
        if dataParallel.isSingle {
            try cache.trainAll(configs, data: data, teachers: teachers)
        } else {
            // Every rank walks the same list in the same order; rank 0 decides each run (it
            // holds the run's lock and broadcasts whether to train), so the ranks train each
            // missing run together and skip the finished ones together.
            for config in configs { _ = try cache.train(config, data: data, teachers: teachers, dataParallel: dataParallel) }
        }
        if dataParallel.writes { try keepNeededWeights() }
    }

    /// The runs whose final weights a later step reads: the run a fine-tuning run starts
    /// from, and the two models of a distance figure (seed 0).
    func configsWithNeededWeights() throws -> [RunConfig] {
        var out: [RunConfig] = []
        for row in spec.rows {
            for column in columnOrder(row) {
                guard let from = row.runs?[column]?.initFrom else { continue }
                for seed in 0..<seeds { out.append(try config(row: row, column: from, seed: seed)) }
            }
        }
        for figure in distanceFigureRuns() {
            for (row, column) in [figure.without, figure.with] { out.append(try config(row: row, column: column, seed: 0)) }
        }
        return out
    }

    /// Each `distance_scatter` figure with the (row, column) of its run without DFM and with it (seed 0).
    func distanceFigureRuns() -> [(figure: FigureSpec, without: (RowSpec, String), with: (RowSpec, String))] {
        (spec.figures ?? []).compactMap { figure in
            guard figure.kind == FigureSpec.distanceScatter, let column = figure.column,
                  let without = spec.rows.first(where: { $0.id == figure.without }),
                  let with = spec.rows.first(where: { $0.id == figure.with }) else { return nil }
            return (figure, (without, column), (with, column))
        }
    }

    /// Copies the needed final weights of finished runs into the results store
    /// (results/weights/, committed with the records), so that another machine, which has the
    /// records but not this run cache, can still fine-tune from them or measure the figure.
    func keepNeededWeights() throws {
        for config in try configsWithNeededWeights() where try cache.keepWeights(config) {
            print("kept the final weights of run \(config.key) (\(config.model)) in results/weights/: commit them with its record")
        }
    }

    /// Trains the runs of one shard that the cache and the results store lack (no outputs:
    /// a later invocation without a shard assembles the table); returns how many runs the
    /// shard holds.
    @discardableResult
    public func trainShard(_ shard: Shard) throws -> Int {
        let mine = shard.select(try configs())
        try train(mine)
        return mine.count
    }

    /// Trains the runs of these rows only (no outputs), so a comparison a table holds can come
    /// first in a long campaign; returns how many runs the rows hold.
    @discardableResult
    public func trainRows(_ ids: [String]) throws -> Int {
        let known = spec.rows.map(\.id)
        let unknown = ids.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw InputError("table \(spec.table) has no row \(unknown.joined(separator: ", ")) (its rows: \(known.joined(separator: ", ")))")
        }
        let mine = try configs(rows: Set(ids))
        try train(mine)
        return mine.count
    }

    /// Trains (or takes from the cache) one run.
    func result(of config: RunConfig) throws -> RunResult {
        try requireTrainable([config], alone: true)
        return try cache.train(config, data: data, teachers: teachers)!
    }

    /// Trains the table's missing runs in `jobs` processes (this one and `jobs - 1` workers
    /// started with `workerArguments`), then assembles the table and writes its outputs.
    @discardableResult
    public func run(jobs: Int, workerArguments: [String], workerEnvironment: [String: String] = [:]) throws -> TableResult {
        if jobs > 1 {
            guard let executable = Bundle.main.executableURL else { throw InputError("cannot find this executable to start --jobs workers") }
            let workers = try (1..<jobs).map { _ in
                let p = Process()
                p.executableURL = executable
                p.arguments = workerArguments
                if !workerEnvironment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(workerEnvironment) { $1 } }
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

    /// Runs the whole table and writes its outputs. Runs another process is training are
    /// skipped for the next free one first (so two invocations of one table split its runs),
    /// then waited for.
    @discardableResult
    public func run() throws -> TableResult {
        let started = Date()
        if let why = spec.unrecovered { print("== table \(spec.table): content not recovered. \(why)") }
        try trainAvailable()
        var cells: [String: [String: CellValues]] = [:]
        var keys: [String: [String: [String]]] = [:]
        var pending: [String] = []
        var runSeconds: [String: Double] = [:]
        var configured: [String: [String: String]] = [:]
        var code: [String: Set<String>] = [:]
        var denseLines: [String] = []
        // Runs in dependency order: a column that fine-tunes from another comes after it.
        for row in spec.rows {
            for column in columnOrder(row) {
                for seed in 0..<seeds {
                    let config = try config(row: row, column: column, seed: seed)
                    if seed == 0 { configured[row.id, default: [:]][column] = config.configuredSummary }
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
                    let p = r.provenance
                    code[p.map { "\($0.gitCommit)\($0.gitDirty ? "+changes" : "") (engine v\($0.engineVersion))" } ?? "no provenance", default: []].insert(config.key)
                }
            }
            if let catalog {
                let dense = try DenseCells.cells(spec: spec, row: row, scale: scale, seeds: seeds, cache: cache, data: catalog) {
                    try self.config(row: row, column: $0, seed: $1)
                }
                for (column, values) in dense.cells { cells[row.id, default: [:]][column] = values }
                denseLines += dense.lines
            }
            try measureCosts(row: row, into: &cells, configured: &configured)
            if let paper {
                for col in spec.columns where col.kind == .teacherTop1 {
                    guard let teacher = row.models(at: scale)[col.role ?? "teacher"] else { continue }
                    cells[row.id, default: [:]][col.id] = CellValues(values: [try paperTeacherTop1(teacher, paper)])
                }
            }
            for col in spec.columns where col.kind == .viewed {
                guard let column = col.role, columnOrder(row).contains(column) else { continue }
                let values = try (0..<seeds).map { try viewedSamples(row: row, column: column, seed: $0) }
                cells[row.id, default: [:]][col.id] = CellValues(values: values)
            }
            // Operands of formulas: the row's cells, and its models' params/flops (the same for every seed).
            var operands = cells[row.id] ?? [:]
            for col in spec.columns where col.kind == .params || col.kind == .flops {
                if let cost = CellFormat.modelCost(row.models(at: scale)[col.role ?? "student"]) {
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
        let claims = ClaimEvaluator.evaluate(spec, cells: cells)
        let env = EnvironmentReport.current()
        var result = TableResult(table: spec.table, title: spec.title, scale: scale, seeds: seeds, cells: cells, runKeys: keys,
                                 claims: claims, wallSeconds: Date().timeIntervalSince(started),
                                 environment: Dictionary(uniqueKeysWithValues: env.lines.map { ($0.0, $0.1) }),
                                 pending: pending.isEmpty ? nil : pending, runSeconds: runSeconds.values.reduce(0, +))
        result.configured = configured.isEmpty ? nil : configured
        result.unrecovered = spec.unrecovered
        result.omitted = plan.omissionLines.isEmpty ? nil : plan.omissionLines
        result.code = code.isEmpty ? nil : code.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.count) runs" }
        result.dense = denseLines.isEmpty ? nil : denseLines
        // Figures measured on the trained models (Figure 6) need the runs and teachers, so the
        // runner measures them; TableOutput draws them from the data written here.
        try writeDistanceFigures()
        let shownTeachers = spec.columns.contains { $0.kind == .teacherTop1 } && scale != .paper ? try teacherRecords : []
        try TableOutput(spec: spec, result: result, directory: outputDirectory, teacherRecords: shownTeachers, runs: cache).write()
        return result
    }

    /// Measures every `distance_scatter` figure of the spec from its trained runs (seed 0) and
    /// writes its HDF5 data; TableFigures draws the PNG and the paragraph from that file.
    func writeDistanceFigures() throws {
        let stem = String(format: "table%02d", spec.table)
        for (figure, without, with) in distanceFigureRuns() {
            guard let catalog else {
                print("== table \(spec.table) figure \(figure.id): measured on Fashion-MNIST at ci and small scale only")
                continue
            }
            var measured: [DistanceScatter.Measured] = []
            for ((row, column), prefix) in [(without, "without DFM"), (with, "with DFM")] {
                let config = try config(row: row, column: column, seed: 0)
                guard let distiller = try makeObjective(for: config, teacherLoader: { try self.teachers.teacher($0) }) as? Distiller else {
                    throw SpecError(file: "table \(spec.table)", line: nil, message: "figure \(figure.id): row \(row.id) is not a distilled run")
                }
                // The checkpoint holds `trainable` (student + projectors) under the names it was saved with.
                let (parameters, path) = try cache.finalWeights(key: config.key)
                try StateIO.load(parameters, into: distiller.trainable.namedTensors(), path: path)
                let m = DistanceMeasurement.measure(distiller, on: catalog.testSet(config.split), samples: figure.samples ?? 1600)
                let label = spec.columns.filter { $0.kind == .label }.compactMap { row.labels?[$0.id] }.last ?? row.id
                measured.append(.init(name: "\(prefix): \(label)", runKey: config.key, spatial: m.spatial, frequency: m.frequency,
                                      count: m.count, dimension: m.dimension))
            }
            let scatter = DistanceScatter.build(title: figure.title, scale: scale.rawValue, without: measured[0], with: measured[1],
                                                points: figure.points ?? 640)
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            try scatter.save(to: "\(outputDirectory)/\(stem)-\(figure.id).h5")
            print("== table \(spec.table) figure \(figure.id): \(scatter.verdict().evidence)")
        }
    }

    /// The row's `step` columns: each configuration timed once (seed 0; identical
    /// configurations once per invocation) in a child process, so its peak RSS is its own,
    /// and the `peak_memory` / `epoch_seconds` columns that read it.
    func measureCosts(row: RowSpec, into cells: inout [String: [String: CellValues]], configured: inout [String: [String: String]]) throws {
        for step in spec.columns where step.kind == .step && !plan.omits(row: row.id, column: step.id, of: spec) {
            guard row.runs?[step.id] != nil else { continue }
            guard let measureStep else { throw InputError("table \(spec.table) times training steps: run it with `scalekd run table\(spec.table)`") }
            let config = try config(row: row, column: step.id, seed: 0)
            configured[row.id, default: [:]][step.id] = "timed, not trained: " + config.configuredSummary
            let measured: (seconds: Double, peakMiB: Double)
            if let known = measuredSteps[config.key] { measured = known } else {
                print("== table \(spec.table) [\(scale)] row \(row.id), \(step.id): timing \(plan.timedSteps ?? 3) steps of \(config.key)")
                measured = try measureStep(config, plan.timedSteps ?? 3)
                measuredSteps[config.key] = measured
            }
            // The trainer drops the last partial batch (EpochPlan dropLast).
            let steps = Double(try data.imageSets(for: config.split).train.trainingSteps(batchSize: config.batchSize))
            cells[row.id, default: [:]][step.id] = CellValues(values: [measured.seconds])
            for col in spec.columns where col.role == step.id {
                if col.kind == .peakMemory { cells[row.id, default: [:]][col.id] = CellValues(values: [measured.peakMiB]) }
                if col.kind == .epochSeconds { cells[row.id, default: [:]][col.id] = CellValues(values: [measured.seconds * steps]) }
            }
        }
    }

    /// Training samples (set size x epochs) one run saw, including the runs it was
    /// initialised from (pre-training before fine-tuning).
    func viewedSamples(row: RowSpec, column: String, seed: Int) throws -> Double {
        let config = try config(row: row, column: column, seed: seed)
        let own = Double(try data.imageSets(for: config.split).train.count * config.epochs)
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
