import ArgumentParser
import Distill
import Bench
import Tables
import Training
import Foundation
import Models
import Datasets

@main
struct ScaleKDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scalekd",
        abstract: "The ScaleKD replication suite: paper tables as declared experiments on a Swift tensor engine.",
        subcommands: [EnvCommand.self, ModelsCommand.self, TrainCommand.self, DistillCommand.self, TeachersCommand.self,
                      RunTableCommand.self, EvalCommand.self, ExportCommand.self, RecipesCommand.self, SettingsCommand.self, CheckCommand.self, ReportCommand.self, FiguresCommand.self, PlotCommand.self, BenchCommand.self,
                      ScalingCommand.self, CompareCheckpointsCommand.self])
}

struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "env", abstract: "Print the machine, BLAS kernel and library versions.")
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let env = EnvironmentReport.current()
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(env), as: UTF8.self))
        } else {
            for (k, v) in env.lines { print("\(k.padding(toLength: 22, withPad: " ", startingAt: 0)) \(v)") }
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine against PyTorch on the same CPU (tools/bench_torch.py, when torch is importable).",
        discussion: "Each job (kernels, one model, the ScaleKD step) runs in a child process of its own so each row's peak RSS is its own; each round runs every job in both engines back to back, alternating which goes first.")
    @Option(help: "Path of the PyTorch reference script.") var torchScript = "tools/bench_torch.py"
    @Flag(help: "Skip PyTorch even if it is installed.") var noTorch = false
    @Option(help: "Only jobs whose name contains this text, or several such texts separated by commas (jobs: sgemm, conv2d, attention, model:<preset>, scalekd:<teacher>:<student>, conv-backends, gemm-backends, model-ab:<preset>:conv=native|dnnl, model-ab:<preset>:gemm=openblas|dnnl); a full job name also runs components:<teacher>:<student> and layout:<teacher>:<student> (one process with every core against one 1-thread process per core).")
    var only: String?
    @Option(help: "Timed steps per model row, after 2 warm-up steps (both engines).") var repeats = 10
    @Option(help: "Rounds: each runs every job in ours and in PyTorch back to back; the table gives medians and the ratios' range.")
    var rounds = 3
    @Option(help: .hidden) var job: String?

    func run() throws {
        if let job {  // child mode: one job, rows as JSON on stdout
            guard let j = BenchJob(job) else { throw ValidationError("unknown bench job '\(job)'") }
            print(String(decoding: try JSONEncoder().encode(try Bench.run(j, repeats: repeats)), as: UTF8.self))
            return
        }
        let env = EnvironmentReport.current()
        print("BLAS kernel \(env.blasKernel) (\(env.blasKernelReason)), native kernels \(env.kernelISA) (\(env.kernelISAReason)), "
              + "convolutions \(env.convBackend), \(env.loopThreads) threads (large GEMMs split over them); CPU \(env.cpu)")
        // Comma-separated: a full job name runs exactly that job (also those outside the
        // standard list, such as components:<teacher>:<student>); other text filters the standard list.
        var jobs: [BenchJob] = []
        for pattern in only.map({ $0.split(separator: ",").map(String.init) }) ?? [""] {
            for j in BenchJob(pattern).map({ [$0] }) ?? BenchJob.standard.filter({ $0.description.contains(pattern) }) where !jobs.contains(j) {
                jobs.append(j)
            }
        }
        var torch: (script: String, threads: Int)? = (torchScript, env.loopThreads)
        if noTorch {
            torch = nil
        } else if !Bench.torchImportable {
            print("(PyTorch not importable: `pip install torch` for the side-by-side column)")
            torch = nil
        }
        print(Bench.table(try Bench.interleaved(jobs, rounds: rounds, repeats: repeats, torch: torch)))
    }
}

/// Options shared by the commands that train.
struct RunOptions: ParsableArguments {
    @Option(help: "ci, small or paper.") var scale = "small"
    @Option(help: "Epochs (default: the scale's).") var epochs: Int?
    @Option(help: "Batch size (default: the scale's).") var batchSize: Int?
    @Option(help: "traditional or advanced.") var strategy = "advanced"
    @Option(help: "Seed of initialisation, batches and augmentation.") var seed: UInt64 = 0
    @Option(help: "Run cache directory.") var runs = "runs"
    @Option(help: "Seconds between checkpoints inside an epoch (one is always written at each epoch end).")
    var checkpointSeconds: Double = 60

    func config(model: String, method: String = "baseline", teacher: String? = nil) throws -> RunConfig {
        guard checkpointSeconds >= 0 else { throw InputError("--checkpoint-seconds must be >= 0 (got \(checkpointSeconds))") }
        return try RunRequest(model: model, scale: try Scale(named: scale), strategy: strategy, epochs: epochs, batchSize: batchSize,
                              seed: seed, method: method, teacher: teacher).resolved()
    }
}

/// Trains `config` in this process's world: alone, or as one rank of `mpirun -np N` (rank 0
/// prints; an error on any rank ends them all, which would otherwise wait for it).
func train(_ config: RunConfig, runs: String, checkpointSeconds: Double = 60) throws {
    let world = DataParallel.world
    let config = config.trained(by: world)
    do {
        guard config.batchSize >= world.worldSize else {
            throw InputError("a batch of \(config.batchSize) cannot be split over \(world.worldSize) ranks")
        }
        let env = EnvironmentReport.current()
        let say: (String) -> Void = world.writes ? { print($0) } : { _ in }
        say("BLAS \(env.blasKernel), native kernels \(env.kernelISA), convolutions \(env.convBackend), \(env.loopThreads) threads"
            + (world.isSingle ? "" : " in each of \(world.worldSize) MPI ranks") + " | run \(config.key) under \(runs)/")
        let data = try DataCatalog()
        let cache = RunCache(root: runs)
        say(data.describe(config.split))
        let teachers = TeacherProvider(scale: config.scale, cache: cache, data: data)
        if let r = try cache.train(config, data: data, teachers: teachers, checkpointSeconds: checkpointSeconds, dataParallel: world) {
            say(String(format: "%@: test top-1 %.2f%% (top-5 %.2f%%), validation top-1 %.2f%%, last epoch; %.0f s, %.0f images/s",
                       config.model, r.top1, r.top5, r.validationTop1 ?? .nan, r.wallSeconds, r.imagesPerSecond))
        }
    } catch let error where !world.isSingle {
        FileHandle.standardError.write(Data("rank \(world.rank): error: \(error)\n".utf8))
        world.abort()
    }
    world.finish()
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train one model on the student subset (cached, resumable).",
        discussion: "Under `mpirun -np N` it trains on N data-parallel ranks, each with B/N rows of every batch (README: A run on N MPI ranks).")
    @Option(help: "Model preset (`scalekd models`).") var model: String
    @OptionGroup var options: RunOptions

    func run() throws { try train(try options.config(model: model), runs: options.runs, checkpointSeconds: options.checkpointSeconds) }
}

struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distill", abstract: "Distil a student from a pre-trained teacher.")
    @Option(help: "Teacher preset (pre-trained, data/teachers/).") var teacher: String
    @Option(help: "Student preset.") var student: String
    @Option(help: "baseline, kd, fd, dkd, dist or scalekd.") var method = "scalekd"
    @OptionGroup var options: RunOptions

    func run() throws {
        try train(try options.config(model: student, method: method, teacher: teacher), runs: options.runs,
                  checkpointSeconds: options.checkpointSeconds)
    }
}

struct TeachersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "teachers", abstract: "Pre-train the small-scale teachers on the 55k pre-training set and record them (resumable).")
    @Option(help: "Only these teachers (comma-separated).") var only: String?
    @Option(help: "Run cache directory.") var runs = "runs"
    @Option(help: "Seconds between checkpoints inside an epoch (one is always written at each epoch end).")
    var checkpointSeconds: Double = 60
    @Flag(help: "Copy unfinished teacher checkpoints to data/teachers/in-progress/ (for committing) and exit.")
    var saveProgress = false

    func run() throws {
        let store = TeacherStore()
        let names = only.map { $0.split(separator: ",").map(String.init) }
        if saveProgress {
            for name in try store.saved(names: names, cache: RunCache(root: runs)) { print("saved \(name) to \(store.inProgressDirectory(name))") }
            return
        }
        try store.build(names: names, cache: RunCache(root: runs), data: try DataCatalog(),
                        checkpointSeconds: checkpointSeconds)
    }
}

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List presets with parameters and FLOPs (multiply-accumulates).")
    @Option(help: "paper, smoke (paper architectures at 64 px, for trying the paper path) or small/mini.") var scale = "paper"
    @Flag(help: "Measure each mini preset's training throughput (batch 128; about a minute).") var measure = false

    func run() throws {
        let mini = scale != "paper" && scale != "smoke"
        print(ModelTable.markdown(scale: mini ? .mini : ModelScale(rawValue: scale)!, throughput: measure && mini ? { preset in
            FileHandle.standardError.write(Data("measuring \(preset.name)...\n".utf8))
            return Bench.model(preset, repeats: 3)[0].ours
        } : nil))
    }
}

struct RunTableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a paper table (tables/tableNN.yaml): train what the cache lacks, write its outputs.")
    @Argument(help: "table3, table03 or 3") var table: String
    @Option(help: "ci, small or paper.") var scale = "small"
    @Option(help: "Seeds (default: the table's plan).") var seeds: Int?
    @Option(help: "Run cache directory.") var runs = "runs"
    @Option(help: "Output directory (default: tables/out at small scale, tables/<scale>-out otherwise, so ci runs never overwrite the committed outputs).")
    var out: String?
    @Option(help: "Runs trained at once, each in its own process (a lock per run keeps them apart). Default: one per core at small scale with one thread each (faster than one process with every core: README, Speed), one process at ci and paper scale and for tables that time steps.")
    var jobs: Int?
    @Flag(help: .hidden) var worker = false
    @Option(help: "Train only shard i of N of the missing runs (stable by run key; no outputs: run again without --shard to assemble).")
    var shard: String?
    @Option(help: "Train only these rows' runs (comma-separated row ids; no outputs: run again without --rows to assemble).")
    var rows: String?
    @Flag(help: "Write Slurm scripts (a job array of --shards tasks, then the assembly) to slurm/ instead of training.")
    var slurm = false
    @Option(help: "Tasks of the Slurm job array (default: one per missing run, at most 32).") var shards: Int?
    @Flag(help: "Print the runs and the time they would take here, training nothing: at paper scale their size and memory too (timed steps at each model's input size; no ImageNet needed); at ci and small scale which are finished or under way and the time the rest needs.")
    var dryRun = false
    @Option(help: "Paper-scale dry run: batch of the timed steps (at ci and small scale each run's own batch).") var measureBatch = 2
    @Option(help: "Dry run: timed steps per model (after one warm-up; default 2 at paper scale, 5 at ci and small scale).") var measureSteps: Int?
    @Option(help: "Paper scale: the ImageNet root, holding train/ and val/ in the folder layout (<class>/<images>).")
    var data: String?
    @Option(help: "Paper scale: each teacher's timm-named weights, <teacher>=<file.safetensors>[,...] (e.g. swin-l=swin_large.safetensors).")
    var teacherWeights: String?
    @Option(help: "Paper scale, for smoke runs: epochs of every run instead of its recipe's (enters the run key).")
    var epochs: Int?
    @Option(help: "Paper scale, for smoke runs: only the first N images of each class of train/ and val/ (enters the run key).")
    var limitPerClass: Int?
    @Option(help: "Paper scale: the global batch instead of the recipe's per-GPU batch x GPUs; the learning rate stays the recipe's unless --scale-lr (enters the run key).")
    var batchSize: Int?
    @Flag(help: "Paper scale, with --batch-size: scale the recipe's learning rate by batch / its global batch (linear scaling rule; enters the run key).")
    var scaleLr = false
    @Option(help: "The data-parallel ranks the runs trained on (their keys include it): to assemble, in one process, a table trained under `mpirun -np N`. Under mpirun it is the world's size.")
    var ranks: Int?

    /// The flags that only paper-scale runs read, as given (also passed on to --jobs workers).
    var paperArguments: [String] {
        let given: [(String, String?)] = [("--data", data), ("--teacher-weights", teacherWeights), ("--epochs", epochs.map(String.init)),
                                          ("--limit-per-class", limitPerClass.map(String.init)), ("--batch-size", batchSize.map(String.init))]
        let flags: [String] = scaleLr ? ["--scale-lr"] : []
        return given.flatMap { flag, value in value.map { [flag, $0] } ?? [] } + flags
    }

    /// Paper scale: the ImageNet folders, teacher weights, recipes and overrides of the table's runs.
    /// `say` prints (rank 0 only under mpirun).
    func paperInputs(_ spec: TableSpec, say: (String) -> Void) throws -> PaperScaleInputs {
        // A table without a paper plan is told so before it is asked for data.
        _ = try spec.paperPlan()
        guard let data else {
            throw InputError("--scale paper trains on ImageNet: give --data <root with train/ and val/> and --teacher-weights "
                + "<teacher>=<file.safetensors>[,...]; `--dry-run` prints the runs and their cost without them")
        }
        for (flag, value) in [("--epochs", epochs), ("--limit-per-class", limitPerClass), ("--batch-size", batchSize)] {
            if let value, value < 1 { throw InputError("\(flag) must be at least 1 (got \(value))") }
        }
        if scaleLr && batchSize == nil { throw InputError("--scale-lr scales the learning rate to --batch-size: give --batch-size") }
        let folders = try ImageFolderData(root: data)
        for line in folders.summary { say("data " + line) }
        return PaperScaleInputs(data: folders, teachers: try TeacherWeightFiles(parsing: teacherWeights ?? ""),
                                recipes: try PaperRecipes.load(), epochs: epochs, limitPerClass: limitPerClass, batchSize: batchSize,
                                scalesLearningRate: scaleLr)
    }

    /// Under `mpirun -np N` every rank trains each missing run together (its batches split
    /// over the ranks), then rank 0 assembles the outputs; an error on any rank ends them all.
    func run() throws {
        let world = DataParallel.world
        do {
            try execute(world)
        } catch let error where !world.isSingle {
            FileHandle.standardError.write(Data("rank \(world.rank): error: \(error)\n".utf8))
            world.abort()
        }
        world.finish()
    }

    func execute(_ world: DataParallel) throws {
        let scale = try Scale(named: self.scale)
        if let ranks, ranks < 1 || (!world.isSingle && ranks != world.worldSize) {
            throw InputError("--ranks \(ranks): " + (world.isSingle ? "must be at least 1" : "under mpirun it must be the world's size, \(world.worldSize)"))
        }
        if !world.isSingle && (dryRun || slurm || worker || (jobs ?? 1) != 1) {
            throw InputError("under mpirun every rank trains each run together: --jobs, --slurm and --dry-run are for one process")
        }
        if dryRun && scale == .paper {
            guard measureBatch >= 2, (measureSteps ?? 2) >= 1 else { throw InputError("--measure-batch must be at least 2 and --measure-steps at least 1") }
            print(try PaperDryRun.report(spec: try TableSpec.load(table: table), batch: measureBatch, repeats: measureSteps ?? 2))
            return
        }
        if let jobs, jobs < 1 { throw InputError("--jobs must be at least 1 (got \(jobs))") }
        if let seeds, seeds < 1 { throw InputError("--seeds must be at least 1 (got \(seeds))") }
        if scale != .paper, let flag = paperArguments.first {
            throw InputError("\(flag) is for --scale paper (ci and small runs read Fashion-MNIST and the committed teachers)")
        }
        let spec = try TableSpec.load(table: table)
        // Small-scale runs are small (batch 64 at 32 px): one 1-thread process per core trains
        // more images/s than one process whose ops split over the cores (`scalekd bench --only
        // layout:...`). ci runs are too short to repay a second process; paper runs' large
        // GEMMs do split well; step timings (Table 15) must not share the CPU.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let timesSteps = spec.columns.contains { $0.kind == .step }
        if timesSteps && !world.isSingle { throw InputError("table \(spec.table) times training steps: run it in one process, not under mpirun") }
        // Assembling N-rank runs (--ranks N) trains nothing here: one process.
        let jobs = self.jobs ?? (scale == .small && world.isSingle && (ranks ?? 1) == 1 && !timesSteps && !worker && shard == nil && rows == nil
                                 && !slurm ? cores : 1)
        var workerEnvironment: [String: String] = [:]
        if jobs > 1, ProcessInfo.processInfo.environment["SCALEKD_THREADS"] == nil {
            let threads = max(1, cores / jobs)
            workerEnvironment["SCALEKD_THREADS"] = "\(threads)"
            setenv("SCALEKD_THREADS", "\(threads)", 1)  // this process trains too (read when the engine starts)
        }
        let out = self.out ?? scale.defaultOutputDirectory
        let paper = scale == .paper && spec.hasRunsOrSteps
        if paper && slurm {
            throw InputError("--slurm writes ci and small-scale jobs (2 CPUs, 8 GB each); give paper-scale runs your own job scripts around "
                + "`srun -n <ranks> scalekd run table\(spec.table) --scale paper --shard i/N` with --data and --teacher-weights (each run "
                + "data-parallel over the task's ranks), then assemble with `--ranks <ranks>` in one process")
        }
        let say: (String) -> Void = world.writes ? { print($0) } : { _ in }
        let runner = paper
            ? try TableRunner(spec: spec, paper: try paperInputs(spec, say: say), seeds: seeds, cache: RunCache(root: runs), outputDirectory: out)
            : try TableRunner(spec: spec, scale: scale, seeds: seeds, cache: RunCache(root: runs), outputDirectory: out, data: try DataCatalog())
        if world.isSingle { runner.ranks = ranks ?? 1 } else { runner.dataParallel = world }
        // Step columns (Table 15) are timed by Bench's child-process jobs, each its own peak RSS.
        runner.measureStep = { config, timedSteps in
            guard let row = try Bench.runInChild(.runStep(config), repeats: timedSteps).first else {
                throw InputError("the timed step of \(config.key) returned no measurement")
            }
            return (Double(config.batchSize) / row.ours, row.peakRSSMiB)
        }
        if dryRun {
            guard (measureSteps ?? 5) >= 1 else { throw InputError("--measure-steps must be at least 1") }
            print(try SmallDryRun.report(runner: runner, repeats: measureSteps ?? 5))
            return
        }
        if worker { try runner.trainAvailable(); return }
        if let shard {
            let share = try Shard(parsing: shard)
            let count = try runner.trainShard(share)
            say("table \(spec.table) shard \(share): \(count) runs trained or found; run without --shard to assemble the outputs")
            return
        }
        if let rows {
            let ids = rows.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            let count = try runner.trainRows(ids)
            say("table \(spec.table) rows \(ids.joined(separator: ", ")): \(count) runs trained or found; run without --rows to assemble the outputs")
            return
        }
        if slurm {
            if let shards, shards < 1 { throw InputError("--shards must be at least 1 (got \(shards))") }
            let cwd = FileManager.default.currentDirectoryPath
            let exe = Bundle.main.executableURL?.path ?? "\(cwd)/.build/release/scalekd"
            var jobs = try SlurmJobs.plan(runner: runner, shards: shards, directory: cwd, executable: exe,
                                          runs: runs.hasPrefix("/") ? runs : "\(cwd)/\(runs)")
            jobs.out = self.out.map { $0.hasPrefix("/") ? $0 : "\(cwd)/\($0)" }
            let submit = try jobs.write()
            print("wrote slurm/ scripts: \(jobs.shards) tasks of up to \(SlurmJobs.slurmTime(jobs.secondsPerShard)) each; submit with \(submit)")
            return
        }
        if !world.isSingle {
            try runner.trainAvailable()
            guard world.writes else { return }
        }
        var workerArguments = ["run", table, "--scale", scale.rawValue, "--runs", runs, "--worker"] + paperArguments
        if let seeds { workerArguments += ["--seeds", "\(seeds)"] }
        if let ranks { workerArguments += ["--ranks", "\(ranks)"] }
        let result = try runner.run(jobs: jobs, workerArguments: workerArguments, workerEnvironment: workerEnvironment)
        print(String(format: "table %d at %@ scale: %d claims; outputs in %@", spec.table, scale.rawValue, result.claims.count,
                     TableSpec.outputPath(table: spec.table, directory: out)))
        for c in result.claims { print("  \(c.verdict.rawValue): \(c.statement) — \(c.evidence)") }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Regenerate REPORT.md from tables/out/.")
    func run() throws { try Report.generate(); print("wrote REPORT.md") }
}

struct FiguresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "figures", abstract: "Figures 2 and 5: DCT spectra of the teachers' last-stage features.")
    @Option(help: "Teachers (comma-separated).") var teachers = "swin-mini-s,swin-mini-b,swin-mini-l,vit-mini-l"
    @Option(help: "Test images to average over.") var samples = 1600

    func run() throws {
        let store = TeacherStore()
        let md = try FigureRunner.spectra(teachers: teachers.split(separator: ",").map(String.init), loader: { try store.load($0) },
                                          data: try DataCatalog(), scale: .small, samples: samples)
        print(md)
    }
}

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "Redraw a figure from its HDF5 data (restyle without retraining).")
    @Argument(help: "A figure's data: tables/out/figure05-swin-mini-l.h5 (Figs 2, 5), tables/out/table09-figure06.h5 (Fig 6) or a table result such as tables/out/table09.json (its line figures, Fig 4)") var data: String
    @Option(help: "Output PNG (default: beside the data).") var output: String?
    @Option(help: "Resolution multiplier (2 for print).") var scale = 1
    @Option(help: "Channels to draw.") var channels = 24

    func run() throws {
        for path in try FigureRedraw.redraw(data, output: output, scale: scale, channels: channels) { print("wrote \(path)") }
    }
}

struct RecipesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipes",
        abstract: "Choose each student family's small-scale recipe on the validation split (tables/recipe-search.yaml).",
        discussion: "Trains the candidates the run cache lacks (two invocations split them), then writes tables/student-recipes.yaml and docs/recipe-search.md.")
    @Option(help: "Only these models (comma-separated).") var only: String?
    @Option(help: "Run cache directory.") var runs = "runs"
    @Flag(help: "Write the outputs from the finished candidates without training.") var noTraining = false

    func run() throws {
        let spec = try RecipeSearchSpec.load(from: StrictYAML.locate(RecipeSearchSpec.fileName) ?? RecipeSearchSpec.fileName)
        let search = RecipeSearch(spec: spec, cache: RunCache(root: runs), data: try DataCatalog())
        if !noTraining { try search.train(only: only.map { $0.split(separator: ",").map(String.init) }) }
        print(try search.write())
    }
}

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings",
        abstract: "Write docs/method-settings.md: the ScaleKD settings of every mini teacher-student pair (Table 10's appendix).")
    func run() throws { print(try MethodSettingsTable.write()) }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compare ci-scale table results with the committed ones in tables/expected/ (CI regression).")
    @Argument(help: "Tables to check: table3, 3, ... (default: every table with an expected result).") var tables: [String] = []
    @Option(help: "Directory of the fresh results.") var results = "tables/ci-out"
    @Option(help: "Directory of the committed expected results.") var expected = "tables/expected"
    @Option(help: "Allowed top-1 difference in points.") var tolerance = RegressionCheck.defaultTolerance

    func run() throws {
        let numbers: [Int] = tables.isEmpty
            ? ((try? FileManager.default.contentsOfDirectory(atPath: expected)) ?? []).filter { $0.hasSuffix(".json") }
                .compactMap { Int($0.filter(\.isNumber)) }.sorted()
            : tables.compactMap { Int($0.filter(\.isNumber)) }
        guard !numbers.isEmpty else { throw ValidationError("no expected results under \(expected)/") }
        var failed = 0
        for n in numbers {
            let name = String(format: "table%02d", n)
            let spec = try TableSpec.load(table: "\(n)")
            let check = RegressionCheck(spec: spec, tolerance: tolerance)
            let bad = check.mismatches(actual: try RegressionCheck.load("\(results)/\(name).json"),
                                       expected: try RegressionCheck.load("\(expected)/\(name).json"))
            let costs = spec.columns.contains(where: \.kind.isCost) ? ", costs measured and positive" : ""
            print(bad.isEmpty ? "\(name): matches \(expected)/\(name).json (top-1 within ±\(tolerance) points, counts exact\(costs))"
                              : "\(name): \(bad.count) cells differ from \(expected)/\(name).json:")
            for line in bad { print("  " + line) }
            if !bad.isEmpty { failed += 1 }
        }
        if failed > 0 {
            print("\(failed) table(s) regressed. If the change is intended, regenerate with `make ci-expected` and commit tables/expected/.")
            throw ExitCode(1)
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Top-1 and top-5 of a preset on an ImageNet-layout folder (resize 256, center crop 224).",
        discussion: "--data is root/<class>/<images> (e.g. ImageNet's val set sorted into class folders); classes sorted by name are labels 0..<n, as timm's ImageFolder. Unreadable images are skipped and counted (--strict: stop at the first, naming it).")
    @Option(help: "Model preset (`scalekd models`).") var model: String
    @Option(help: "Weights: timm-named .safetensors or a checkpoint .h5 (a run's or a teacher's).") var weights: String
    @Option(help: "Image folder in the ImageNet layout.") var data: String
    @Option(help: "Images per forward pass.") var batchSize = 32
    @Option(help: "Only the first N images (file order: the first classes).") var limit: Int?
    @Option(help: "Only the first N images of each class (a quick look over every class).") var perClass: Int?
    @Flag(help: "Stop at the first unreadable image instead of skipping it.") var strict = false
    @Option(help: "Resampling filter, bilinear or bicubic (default: timm's for the family: bilinear for ResNet and MobileNet, bicubic for the others).")
    var interpolation: ImageNetTransform.Interpolation?
    @Option(help: "Shorter side before the 224 center crop (timm's 224 / crop_pct: 256 for 0.875, 248 for Swin-L's and BEiT-L's 0.9).")
    var resize = 256

    func run() throws {
        guard resize >= 224 else { throw ValidationError("--resize must be at least the 224 crop (got \(resize))") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        if let perClass, perClass < 1 { throw ValidationError("--per-class must be at least 1 (got \(perClass))") }
        let model = try buildModel(model, seed: 0)
        try WeightsFile.load(weights, into: model)
        var folder = try FolderDataset(root: data)
        if let perClass { folder = folder.limited(perClass: perClass) }
        let manifest = folder.manifest
        print("data \(data): \(manifest.count) images in \(manifest.classes.count) classes, file list SHA-256 \(manifest.fileListSHA256)")
        if !manifest.emptyClasses.isEmpty {
            print("warning: \(manifest.emptyClasses.count) empty class folders keep their labels: \(manifest.emptyClasses.prefix(5).joined(separator: ", "))")
        }
        let env = EnvironmentReport.current()
        print("\(self.model) from \(weights) | \(env.loopThreads) threads, BLAS \(env.blasKernel)")
        let filter = interpolation ?? Zoo.preset(named: self.model).map { .timmDefault(forFamily: $0.family) } ?? .bilinear
        print("transform: resize \(resize) (\(filter.rawValue)), center crop 224, ImageNet mean/std")
        let batches = ImageFolderBatches(folder: folder, transform: .eval(resize: resize, interpolation: filter), policy: strict ? .fail : .skip)
        let r = try FolderEvaluation.run(model, batches: batches, batchSize: batchSize, limit: limit) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        for s in r.skipped.prefix(10) { print("skipped \(s.path): \(s.reason)") }
        if r.skipped.count > 10 { print("... and \(r.skipped.count - 10) more") }
        print(String(format: "%@: top-1 %.2f%%, top-5 %.2f%% on %d images (%d unreadable skipped); %.1f images/s, %.0f s",
                     self.model, r.top1, r.top5, r.images, r.skipped.count, r.imagesPerSecond, r.seconds))
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a preset's weights as timm-named safetensors (for timm.create_model + load_state_dict).")
    @Option(help: "Model preset (`scalekd models`).") var model: String
    @Option(help: "Checkpoint .h5 to export (a run's: a distilled student's \"student.\" prefix is stripped; or a teacher's).")
    var checkpoint: String?
    @Option(help: "Seed of the random initialisation when no checkpoint is given.") var seed: UInt64 = 0
    @Option(help: "Output .safetensors file.") var out: String

    func run() throws {
        let architecture = try WeightsFile.export(model: model, checkpoint: checkpoint, seed: seed, to: out)
        print("wrote \(out) (\(architecture.rawValue) names, from \(checkpoint ?? "random init, seed \(seed)"))")
    }
}

extension ImageNetTransform.Interpolation: ExpressibleByArgument {}
