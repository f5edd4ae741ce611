import Distill
import Foundation
import Training
import Models
import NN
import Tensor

/// One measured workload: ours, and PyTorch's on the same CPU when it is importable.
public struct BenchRow: Codable {
    public var name: String
    public var unit: String          // "GFLOP/s" or "images/s"
    public var ours: Double
    public var torch: Double?
    public var oursGFLOPs: Double?   // achieved GFLOP/s of throughput rows (see `Bench.note`)
    /// Peak RSS of the process that measured the row (each job runs in its own process).
    public var peakRSSMiB: Double
    public var torchPeakRSSMiB: Double?
    /// RSS high-water mark of each side's process before any work (libraries; included in the peaks).
    public var startRSSMiB: Double?
    /// Step rows: the RSS high-water mark once the model and optimizer exist, before any step.
    public var builtRSSMiB: Double?
    public var torchStartRSSMiB: Double?
    /// Each round's figure when `make bench` ran several rounds (ours and PyTorch back to
    /// back in each); `ours` and `torch` are then their medians.
    public var oursRounds: [Double]?
    public var torchRounds: [Double]?

    public init(name: String, unit: String, ours: Double, torch: Double? = nil, oursGFLOPs: Double? = nil, peakRSSMiB: Double) {
        self.name = name; self.unit = unit; self.ours = ours; self.torch = torch
        self.oursGFLOPs = oursGFLOPs; self.peakRSSMiB = peakRSSMiB
    }

    /// Ours / PyTorch within each round: both sides of a round saw the same machine state.
    public var roundRatios: [Double] {
        guard let o = oursRounds, let t = torchRounds, o.count == t.count else { return torch.map { [ours / $0] } ?? [] }
        return zip(o, t).map { $0 / $1 }
    }

    /// Median of the per-round ratios (nil without a PyTorch figure).
    public var ratio: Double? { roundRatios.isEmpty ? nil : Bench.median(roundRatios) }
}

/// A unit of work timed in a process of its own, so that each row's peak RSS is its
/// own and not the high-water mark of whatever ran before it. The names are shared with
/// tools/bench_torch.py, which runs the same jobs in PyTorch.
public enum BenchJob: Equatable, CustomStringConvertible {
    case sgemm, conv2d, attention
    /// Inference, then training steps, of one zoo preset.
    case model(String)
    /// One ScaleKD distillation step: frozen teacher, student, CAP + DFM + TPP + KD.
    case scalekd(teacher: String, student: String)
    /// The step with ScaleKD's components added one at a time (ours only; not in `standard`).
    case components(teacher: String, student: String)
    /// A few training steps (or inference passes) of a preset at a given batch, for paper
    /// plans' dry runs (ours only; not in `standard`).
    case step(String, train: Bool, batch: Int)
    /// One training step of a table run's configuration, its objective built as training
    /// builds it, at its batch size (ours only; Table 15's cost cells). The teacher is
    /// untrained: a step's cost does not depend on the weights.
    case runStep(RunConfig)
    /// The mini models' conv shapes (forward + backward) and GEMM shapes on the engine's
    /// kernels and on oneDNN, both in one process (ours only; BackendAB.swift).
    case convBackends, gemmBackends
    /// `model` in a child process under one value of a backend switch, e.g. SCALEKD_CONV=dnnl (ours only).
    case modelAB(String, BackendAB.Switch, String)
    /// The ScaleKD step as one process with every core's thread against one 1-thread
    /// process per core side by side: which layout the table runner's `--jobs` should use (ours only).
    case layout(teacher: String, student: String)

    public var description: String {
        switch self {
        case .sgemm: return "sgemm"
        case .conv2d: return "conv2d"
        case .attention: return "attention"
        case .model(let name): return "model:\(name)"
        case .scalekd(let t, let s): return "scalekd:\(t):\(s)"
        case .components(let t, let s): return "components:\(t):\(s)"
        case .step(let name, let train, let batch): return "step:\(name):\(train ? "train" : "infer"):\(batch)"
        // Base64 of the config's JSON: one argument without colons.
        case .runStep(let config): return "runstep:" + Data(config.canonicalJSON.utf8).base64EncodedString()
        case .convBackends: return "conv-backends"
        case .gemmBackends: return "gemm-backends"
        case .modelAB(let name, let s, let value): return "model-ab:\(name):\(s.rawValue)=\(value)"
        case .layout(let t, let s): return "layout:\(t):\(s)"
        }
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":").map(String.init)
        switch (parts.first, parts.count) {
        case ("sgemm", 1): self = .sgemm
        case ("conv2d", 1): self = .conv2d
        case ("attention", 1): self = .attention
        case ("model", 2) where Zoo.preset(named: parts[1]) != nil: self = .model(parts[1])
        case ("scalekd", 3) where Zoo.preset(named: parts[1])?.isTeacher == true && Zoo.preset(named: parts[2]) != nil:
            self = .scalekd(teacher: parts[1], student: parts[2])
        case ("components", 3) where Zoo.preset(named: parts[1])?.isTeacher == true && Zoo.preset(named: parts[2]) != nil:
            self = .components(teacher: parts[1], student: parts[2])
        case ("layout", 3) where Zoo.preset(named: parts[1])?.isTeacher == true && Zoo.preset(named: parts[2]) != nil:
            self = .layout(teacher: parts[1], student: parts[2])
        case ("step", 4) where Zoo.preset(named: parts[1]) != nil && ["train", "infer"].contains(parts[2]) && (Int(parts[3]) ?? 0) > 0:
            self = .step(parts[1], train: parts[2] == "train", batch: Int(parts[3])!)
        case ("conv-backends", 1): self = .convBackends
        case ("gemm-backends", 1): self = .gemmBackends
        case ("model-ab", 3) where Zoo.preset(named: parts[1]) != nil:
            let setting = parts[2].split(separator: "=").map(String.init)
            guard setting.count == 2, let s = BackendAB.Switch(rawValue: setting[0]), s.values.contains(setting[1]) else { return nil }
            self = .modelAB(parts[1], s, setting[1])
        case ("runstep", 2):
            guard let json = Data(base64Encoded: parts[1]), let config = try? JSONDecoder().decode(RunConfig.self, from: json),
                  Zoo.preset(named: config.model) != nil else { return nil }
            self = .runStep(config)
        default: return nil
        }
    }

    /// Whether tools/bench_torch.py runs this job too (the component steps are ours only).
    public var hasTorchTwin: Bool {
        switch self {
        case .components, .step, .convBackends, .gemmBackends, .modelAB, .layout: return false
        default: return true
        }
    }

    /// What `make bench` runs: kernels, every mini student, the largest mini teacher, the
    /// ScaleKD step of the small-scale tables' main pair, and the engine's kernels against
    /// oneDNN (per shape; the CNN students under SCALEKD_CONV, two transformers under SCALEKD_GEMM).
    public static var standard: [BenchJob] {
        // The linear anchor is no network to benchmark.
        let students = Zoo.presets.filter { $0.scale == .mini && !$0.isTeacher && $0.family != "linear" }.map { BenchJob.model($0.name) }
        let ab = [("resnet-mini", BackendAB.Switch.conv), ("mobilenet-mini", .conv), ("convnext-mini", .conv), ("vit-mini-s", .gemm),
                  ("swin-mini-t", .gemm)].flatMap { m, s in s.values.map { BenchJob.modelAB(m, s, $0) } }
        return [.sgemm, .conv2d, .attention] + students + [.model("swin-mini-l"), .scalekd(teacher: "swin-mini-l", student: "resnet-mini")]
            + [.convBackends, .gemmBackends] + ab
    }
}

/// Micro and model benchmarks. Medians over repeats after warm-up; release builds only.
public enum Bench {
    public static let batch = 128

    public static let note = """
        Each round runs a job in our engine and in PyTorch back to back (which goes first alternates); images/s are \
        medians over rounds, the ratio is the median of the rounds' ratios and its range their min-max. \
        Training rows: forward, backward and AdamW step, batch \(batch), 1x32x32 inputs, 10 classes; inference rows: \
        forward in eval mode without gradients. Medians over repeated steps after warm-up. Achieved GFLOP/s = \
        2 x multiply-accumulates / time, counting a training step as 3x the forward MACs (conv, linear, matmul, \
        from MetaMode); the ScaleKD step counts the teacher's forward once and everything with gradients 3x. \
        Peak RSS is the max resident set of the process that ran the row (one process per model on each side, \
        inference timed before training).
        """

    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    /// Median seconds of `body` over `repeats` runs after `warmup` runs.
    public static func time(warmup: Int = 2, repeats: Int = 7, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var ts: [Double] = []
        for _ in 0..<max(1, repeats) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return median(ts)
    }

    /// High-water mark of this process's resident set (Linux reports ru_maxrss in KiB).
    public static var peakRSSMiB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Runs one job in this process. `repeats` scales the model rows (kernels keep their own).
    public static func run(_ job: BenchJob, repeats: Int) throws -> [BenchRow] {
        let start = peakRSSMiB
        var rows: [BenchRow]
        switch job {
        case .sgemm: rows = sgemm()
        case .conv2d: rows = [conv2d()]
        case .attention: rows = [attention()]
        case .model(let name): rows = model(Zoo.preset(named: name)!, repeats: repeats)
        case .scalekd(let t, let s):
            rows = [scaleKDStep(teacher: Zoo.preset(named: t)!, student: Zoo.preset(named: s)!, repeats: repeats)]
        case .components(let t, let s):
            rows = componentSteps(teacher: Zoo.preset(named: t)!, student: Zoo.preset(named: s)!, repeats: repeats)
        case .layout(let t, let s): rows = try processLayout(teacher: t, student: s, repeats: repeats)
        case .step(let name, let train, let batch):
            rows = [steps(Zoo.preset(named: name)!, train: train, batch: batch, repeats: repeats)]
        case .runStep(let config): rows = [try configStep(config, repeats: repeats)]
        case .convBackends: rows = BackendAB.convRows()
        case .gemmBackends: rows = BackendAB.gemmRows()
        case .modelAB(let name, let s, let value):
            // The child runs under the switch's variable (runInChild); a process started otherwise says so.
            precondition(ProcessInfo.processInfo.environment[s.variable] == value, "\(job) runs under \(s.variable)=\(value)")
            rows = model(Zoo.preset(named: name)!, repeats: repeats).map { row in
                var r = row
                r.name += BackendAB.suffix(s, value)
                return r
            }
        }
        for i in rows.indices { rows[i].startRSSMiB = start }
        // (stdout carries the rows back to the parent; the profile goes to stderr.)
        if BLAS.profiling { FileHandle.standardError.write(Data("\(job):\n\(BLAS.gemmProfile())\n".utf8)) }
        if OpProfile.enabled { FileHandle.standardError.write(Data("\(job):\n\(OpProfile.report())\n".utf8)) }
        return rows
    }

    /// sgemm GFLOP/s for square sizes.
    public static func sgemm(sizes: [Int] = [256, 512, 1024, 2048]) -> [BenchRow] {
        sizes.map { n in
            let a = Tensor(shape: [n, n], repeating: 0.5), b = Tensor(shape: [n, n], repeating: 0.25)
            let c = Tensor(zeros: [n, n])
            let s = time(repeats: n >= 2048 ? 5 : 9) {
                BLAS.sgemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
            }
            return BenchRow(name: "sgemm \(n)x\(n)x\(n)", unit: "GFLOP/s", ours: 2 * Double(n * n * n) / s / 1e9,
                            oursGFLOPs: nil, peakRSSMiB: peakRSSMiB)
        }
    }

    /// Forward + backward of one 3x3 conv, batch 128, 64 -> 64 channels at 16x16.
    public static func conv2d() -> BenchRow {
        var rng = RandomGenerator(seed: 1)
        let conv = Conv2d(64, 64, kernel: 3, padding: 1, rng: &rng)
        let x = Tensor(shape: [128, 64, 16, 16], values: (0..<(128 * 64 * 256)).map { _ in rng.nextFloat() - 0.5 }, requiresGrad: true)
        let s = time {
            x.grad = nil; conv.zeroGradients()
            conv(x).sum().backward()
        }
        let macs = 128.0 * 64 * 16 * 16 * 64 * 9
        return BenchRow(name: "conv2d 3x3 64->64 16x16 fwd+bwd", unit: "images/s", ours: 128 / s,
                        oursGFLOPs: 3 * 2 * macs / s / 1e9, peakRSSMiB: peakRSSMiB)
    }

    /// Forward + backward of one self-attention layer, batch 128, 64 tokens, width 192, 3 heads.
    public static func attention() -> BenchRow {
        var rng = RandomGenerator(seed: 2)
        let attn = MultiHeadSelfAttention(dim: 192, heads: 3, rng: &rng)
        let x = Tensor(shape: [128, 64, 192], values: (0..<(128 * 64 * 192)).map { _ in rng.nextFloat() - 0.5 }, requiresGrad: true)
        let s = time {
            x.grad = nil; attn.zeroGradients()
            attn(x).sum().backward()
        }
        let perImage: Double = 64 * 192 * 192 * 4 + 2 * 64 * 64 * 192
        let macs = 128 * perImage
        return BenchRow(name: "self-attention 64 tok, 192 wide, 3 heads fwd+bwd", unit: "images/s", ours: 128 / s,
                        oursGFLOPs: 3 * 2 * macs / s / 1e9, peakRSSMiB: peakRSSMiB)
    }

    static func randomImages(_ preset: ModelPreset, batch: Int, rng: inout RandomGenerator) -> Tensor {
        let size = preset.inputSize, c = preset.inputChannels
        return Tensor(shape: [batch, c, size, size], values: (0..<(batch * c * size * size)).map { _ in rng.nextFloat() - 0.5 })
    }

    /// Inference (eval mode, no gradients), then training steps (forward, backward, AdamW)
    /// of a zoo preset. Inference goes first so its peak RSS excludes training's.
    public static func model(_ preset: ModelPreset, batch: Int = batch, repeats: Int = 10) -> [BenchRow] {
        var rng = RandomGenerator(seed: 3)
        let model = preset.build(&rng)
        let x = randomImages(preset, batch: batch, rng: &rng)
        let labels = (0..<batch).map { $0 % preset.classes }
        let macs = Double(preset.cost().macs) * Double(batch)

        model.setTraining(false)
        let inferSeconds = time(warmup: 2, repeats: repeats) { _ = withoutGrad { model(x) } }
        let infer = BenchRow(name: "infer \(preset.name)", unit: "images/s", ours: Double(batch) / inferSeconds,
                             oursGFLOPs: 2 * macs / inferSeconds / 1e9, peakRSSMiB: peakRSSMiB)

        model.setTraining(true)
        let opt = AdamW(parameterSlots(model.namedParameters(), weightDecay: 0.05))
        let trainSeconds = time(warmup: 2, repeats: repeats) {
            opt.zeroGradients()
            model(x).crossEntropy(labels: labels).backward()
            opt.step(learningRate: 1e-3)
        }
        let train = BenchRow(name: "train \(preset.name)", unit: "images/s", ours: Double(batch) / trainSeconds,
                             oursGFLOPs: 3 * 2 * macs / trainSeconds / 1e9, peakRSSMiB: peakRSSMiB)
        return [train, infer]
    }

    /// `repeats` training steps (forward, backward, AdamW) or inference passes of a preset
    /// after one warm-up. `builtRSSMiB` is the peak after building the model and its
    /// optimizer state and before any step, so peak - built is what the batch added.
    public static func steps(_ preset: ModelPreset, train: Bool, batch: Int, repeats: Int) -> BenchRow {
        var rng = RandomGenerator(seed: 3)
        let model = preset.build(&rng)
        let x = randomImages(preset, batch: batch, rng: &rng)
        let labels = (0..<batch).map { $0 % preset.classes }
        model.setTraining(train)
        let opt = train ? AdamW(parameterSlots(model.namedParameters(), weightDecay: 0.05)) : nil
        if let opt { opt.zeroGradients() }
        let built = peakRSSMiB
        let seconds = time(warmup: 1, repeats: repeats) {
            if let opt {
                opt.zeroGradients()
                model(x).crossEntropy(labels: labels).backward()
                opt.step(learningRate: 1e-3)
            } else {
                _ = withoutGrad { model(x) }
            }
        }
        var row = BenchRow(name: "\(train ? "train" : "infer") \(preset.name) batch \(batch)", unit: "images/s",
                           ours: Double(batch) / seconds, peakRSSMiB: peakRSSMiB)
        row.builtRSSMiB = built
        return row
    }

    static func scaleKDDistiller(teacher: ModelPreset, student: ModelPreset, seed: UInt64) -> Distiller {
        var rng = RandomGenerator(seed: seed)
        guard let t = teacher.build(&rng) as? TeacherModel else { fatalError("\(teacher.name) cannot be a ScaleKD teacher") }
        return Distiller(teacher: t, student: student.build(&rng), kind: .scalekd, rng: &rng)
    }

    /// Parameter counts the PyTorch side must reproduce: every preset a job builds, and the
    /// ScaleKD step's student, teacher and projectors.
    public static func expectedParameters(_ jobs: [BenchJob]) -> [String: Int] {
        var out: [String: Int] = [:]
        for job in jobs {
            switch job {
            case .model(let name): out[name] = Zoo.preset(named: name)!.cost().params
            case .scalekd(let t, let s):
                let d = MetaMode.count { scaleKDDistiller(teacher: Zoo.preset(named: t)!, student: Zoo.preset(named: s)!, seed: 0) }.0
                out["\(job) teacher"] = d.teacher.parameterCount
                out["\(job) student"] = d.student.parameterCount
                out["\(job) projectors"] = d.projectors.parameterCount
            default: break
            }
        }
        return out
    }

    /// One ScaleKD training step as Trainer runs it: the frozen teacher's forward without
    /// gradients, the student's stages, four CAPs (spatial and frequency views of stages 3
    /// and 4), the stage-3 projections back-propagated through the teacher's last stage
    /// (TPP), logit KD, then AdamW on the student and the projectors.
    public static func scaleKDStep(teacher: ModelPreset, student: ModelPreset, batch: Int = batch, repeats: Int = 10) -> BenchRow {
        let distiller = scaleKDDistiller(teacher: teacher, student: student, seed: 4)
        var rng = RandomGenerator(seed: 5)
        let x = randomImages(student, batch: batch, rng: &rng)
        let labels = (0..<batch).map { $0 % student.classes }
        let seconds = stepSeconds(distiller, images: x, labels: labels, repeats: repeats)
        // MACs of the whole step's forward from a shape-only pass; the teacher's own
        // forward runs once (no gradients), everything else forward + backward.
        let stepMACs = MetaMode.count { () -> Int in
            let d = scaleKDDistiller(teacher: teacher, student: student, seed: 0)
            _ = d.losses(images: Tensor.meta([1, student.inputChannels, student.inputSize, student.inputSize]),
                         labels: [0], softLabels: nil)
            return 0
        }.macs
        let teacherMACs = teacher.cost().macs
        let trainMACs = Double(3 * (stepMACs - teacherMACs) + teacherMACs) * Double(batch)
        return BenchRow(name: "scalekd step \(teacher.name) -> \(student.name)", unit: "images/s", ours: Double(batch) / seconds,
                        oursGFLOPs: 2 * trainMACs / seconds / 1e9, peakRSSMiB: peakRSSMiB)
    }

    /// Median seconds of one training step of an objective as Trainer runs it: every loss
    /// term summed, backward, AdamW on its trainable modules.
    static func stepSeconds(_ objective: TrainingObjective, images x: Tensor, labels: [Int], repeats: Int) -> Double {
        objective.trainable.setTraining(true)
        let opt = AdamW(parameterSlots(objective.trainable.namedParameters(), weightDecay: 0.05))
        var calls = 0
        return time(warmup: 2, repeats: repeats) {
            calls += 1
            if calls == 3 { OpProfile.reset() }  // the op profile counts timed steps only
            OpProfile.mark("(between steps)")
            opt.zeroGradients()
            OpProfile.mark("(zero gradients)")
            let terms = objective.losses(images: x, labels: labels, softLabels: nil)
            let total = terms.dropFirst().reduce(terms[0].value) { $0 + $1.value }
            OpProfile.mark("(loss sum)")
            total.backward()
            opt.step(learningRate: 1e-3)
            OpProfile.mark("(optimizer step)")
        }
    }

    /// Training-step throughput as ScaleKD's parts are switched on one at a time (issue 4's
    /// per-component cost): plain student, KD alone, CAP (stages 3 and 4, spatial view),
    /// + DFM (frequency-view CAPs), + TPP (stage-3 path through the teacher's last stage),
    /// + KD (= full ScaleKD). Each row's name says what it adds; compare with the plain row.
    public static func componentSteps(teacher: ModelPreset, student: ModelPreset, batch: Int = batch, repeats: Int = 10) -> [BenchRow] {
        var variants: [(String, ScaleKDOptions?, MethodKind)] = [("plain student", nil, .baseline), ("KD only", ScaleKDOptions(), .kd)]
        var o = ScaleKDOptions()
        o.dfm = false; o.tpp = false; o.kd = false
        variants.append(("CAP (spatial, s3+s4)", o, .scalekd))
        o.dfm = true
        variants.append(("CAP + DFM", o, .scalekd))
        o.tpp = true
        variants.append(("CAP + DFM + TPP", o, .scalekd))
        o.kd = true
        variants.append(("CAP + DFM + TPP + KD (ScaleKD)", o, .scalekd))
        var rng = RandomGenerator(seed: 5)
        let x = randomImages(student, batch: batch, rng: &rng)
        let labels = (0..<batch).map { $0 % student.classes }
        return variants.map { name, options, kind in
            var init_ = RandomGenerator(seed: 4)
            let objective: TrainingObjective
            if kind == .baseline {
                objective = SupervisedObjective(student: student.build(&init_))
            } else {
                guard let t = teacher.build(&init_) as? TeacherModel else { fatalError("\(teacher.name) cannot be a teacher") }
                objective = Distiller(teacher: t, student: student.build(&init_), kind: kind, options: options ?? .init(), rng: &init_)
            }
            let seconds = stepSeconds(objective, images: x, labels: labels, repeats: repeats)
            return BenchRow(name: "step \(teacher.name) -> \(student.name): \(name)", unit: "images/s", ours: Double(batch) / seconds,
                            peakRSSMiB: peakRSSMiB)
        }
    }

    /// One training step of a run configuration: its objective from `makeObjective` (the
    /// trainer's), random images at its batch size; images/s over `repeats` steps after two
    /// warm-up steps.
    public static func configStep(_ config: RunConfig, repeats: Int) throws -> BenchRow {
        let objective = try makeObjective(for: config, teacherLoader: { try TeacherStore.frozenTeacher($0, checkpoint: nil) })
        guard let preset = Zoo.preset(named: config.model) else { throw TrainingError.unknownModel(config.model) }
        var rng = RandomGenerator(seed: 5)
        let x = randomImages(preset, batch: config.batchSize, rng: &rng)
        let labels = (0..<config.batchSize).map { $0 % preset.classes }
        let seconds = stepSeconds(objective, images: x, labels: labels, repeats: repeats)
        return BenchRow(name: "step \(config.key)", unit: "images/s", ours: Double(config.batchSize) / seconds, peakRSSMiB: peakRSSMiB)
    }

    /// Images/s of the ScaleKD step (batch 128) as one process with `cores` threads, and as
    /// `cores` 1-thread processes started together (their images/s summed: equal work,
    /// started at once, so their timed steps overlap). Which layout trains a table faster
    /// (`scalekd run --jobs`); run it over several rounds, the load of a shared host drifts.
    public static func processLayout(teacher: String, student: String, repeats: Int) throws -> [BenchRow] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let step = BenchJob.scalekd(teacher: teacher, student: student).description
        func launch(threads: Int) throws -> (Process, Pipe) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            p.arguments = ["bench", "--job", step, "--repeats", "\(repeats)"]
            p.environment = ProcessInfo.processInfo.environment.merging(["SCALEKD_THREADS": "\(threads)"]) { $1 }
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = FileHandle.standardError
            try p.run()
            return (p, pipe)
        }
        func collect(_ children: [(Process, Pipe)]) throws -> [BenchRow] {
            try children.flatMap { p, pipe -> [BenchRow] in
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw BenchError.childFailed(step, p.terminationStatus) }
                return try JSONDecoder().decode([BenchRow].self, from: data)
            }
        }
        let one = try collect([try launch(threads: cores)])
        let many = try collect(try (0..<cores).map { _ in try launch(threads: 1) })
        let name = "scalekd step \(teacher) -> \(student)"
        return [BenchRow(name: "layout \(name): 1 process x \(cores) threads", unit: "images/s",
                         ours: one.map(\.ours).reduce(0, +), peakRSSMiB: one.map(\.peakRSSMiB).max() ?? 0),
                BenchRow(name: "layout \(name): \(cores) processes x 1 thread (summed)", unit: "images/s",
                         ours: many.map(\.ours).reduce(0, +), peakRSSMiB: many.map(\.peakRSSMiB).max() ?? 0)]
    }

    /// Runs `job` in a child process (`scalekd bench --job ...`), returning its rows.
    public static func runInChild(_ job: BenchJob, repeats: Int) throws -> [BenchRow] {
        var environment: [String: String] = [:]
        if case .modelAB(_, let s, let value) = job { environment[s.variable] = value }
        // /proc/self/exe: this very binary, wherever it was started from.
        let (status, data) = try runCapturingStdout("/proc/self/exe", ["bench", "--job", job.description, "--repeats", "\(repeats)"],
                                                    environment: environment)
        guard status == 0 else { throw BenchError.childFailed(job.description, status) }
        return try JSONDecoder().decode([BenchRow].self, from: data)
    }

    /// Runs a program with stderr passed through and `environment` added to ours; returns
    /// its exit status and stdout.
    static func runCapturingStdout(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.standardError
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }

    /// True when `python3 -c "import torch"` succeeds.
    public static var torchImportable: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import torch"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// What tools/bench_torch.py reports for one row.
    public struct TorchFigure: Codable {
        public var value: Double
        public var peakRSSMiB: Double
        public var startRSSMiB: Double?
        enum CodingKeys: String, CodingKey { case value, peakRSSMiB = "peak_rss_mib", startRSSMiB = "start_rss_mib" }
    }

    /// Runs tools/bench_torch.py on one job in a process of its own (it asserts our parameter
    /// counts first) and returns row name -> figure.
    public static func torchFigures(script: String, job: BenchJob, threads: Int, repeats: Int) throws -> [String: TorchFigure] {
        let expected = String(decoding: try JSONEncoder().encode(expectedParameters([job])), as: UTF8.self)
        let (status, data) = try runCapturingStdout("/usr/bin/env", ["python3", script, "--job", job.description, "--threads", "\(threads)",
                                                                     "--repeats", "\(repeats)", "--expect-params", expected])
        guard status == 0 else { throw BenchError.torchFailed(status) }
        return try JSONDecoder().decode([String: TorchFigure].self, from: data)
    }

    /// Times `jobs` over `rounds` rounds. Each round runs every job in ours and then in
    /// PyTorch (`torch`: script and threads; nil skips it), swapping which goes first from
    /// one round to the next, so that a ratio compares two measurements minutes apart at
    /// most: on a shared VM whose speed drifts by tens of percent, ratios of separate
    /// invocations mislead. Rows carry every round's figure; `ours`/`torch` are medians.
    public static func interleaved(_ jobs: [BenchJob], rounds: Int, repeats: Int,
                                   torch: (script: String, threads: Int)?) throws -> [BenchRow] {
        var merged: [BenchRow] = []
        for round in 0..<max(1, rounds) {
            for job in jobs {
                let withTorch = torch != nil && job.hasTorchTwin
                var ours: [BenchRow] = [], theirs: [String: TorchFigure] = [:]
                for side in round % 2 == 0 ? [0, 1] : [1, 0] {
                    if side == 0 {
                        progress("round \(round + 1)/\(rounds): \(job) (ours)")
                        ours = try runInChild(job, repeats: repeats)
                    } else if withTorch, let torch {
                        progress("round \(round + 1)/\(rounds): \(job) (PyTorch)")
                        theirs = try torchFigures(script: torch.script, job: job, threads: torch.threads, repeats: repeats)
                    }
                }
                for row in ours {
                    let t = theirs[row.name]
                    guard let i = merged.firstIndex(where: { $0.name == row.name }) else {
                        var first = row
                        first.oursRounds = [row.ours]
                        if let t { first.torchRounds = [t.value]; first.torchPeakRSSMiB = t.peakRSSMiB; first.torchStartRSSMiB = t.startRSSMiB }
                        merged.append(first)
                        continue
                    }
                    merged[i].oursRounds!.append(row.ours)
                    merged[i].peakRSSMiB = max(merged[i].peakRSSMiB, row.peakRSSMiB)
                    if let t {
                        merged[i].torchRounds = (merged[i].torchRounds ?? []) + [t.value]
                        merged[i].torchPeakRSSMiB = max(merged[i].torchPeakRSSMiB ?? 0, t.peakRSSMiB)
                    }
                }
            }
        }
        // Medians of the rounds; GFLOP/s follows the median throughput (same work per step).
        for i in merged.indices {
            let o = merged[i].oursRounds!, first = merged[i].ours
            merged[i].ours = median(o)
            merged[i].oursGFLOPs = merged[i].oursGFLOPs.map { $0 * merged[i].ours / first }
            merged[i].torch = merged[i].torchRounds.map(median)
        }
        return merged
    }

    static func progress(_ line: String) { FileHandle.standardError.write(Data("bench: \(line)\n".utf8)) }

    /// Model rows (images/s) and kernel rows (sgemm's GFLOP/s) as two markdown tables.
    public static func table(_ rows: [BenchRow]) -> String {
        func f(_ v: Double?, _ digits: Int = 1) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "n/a" }
        func ratio(_ r: BenchRow) -> String { f(r.ratio, 2) }
        func spread(_ r: BenchRow) -> String {
            let rs = r.roundRatios
            return rs.count < 2 ? "" : String(format: "%.2f-%.2f", rs.min()!, rs.max()!)
        }
        let rounds = rows.map { $0.oursRounds?.count ?? 1 }.max() ?? 1
        // The A/B pairs of the engine's kernels and oneDNN have a table of their own (BackendAB).
        let models = rows.filter { $0.unit == "images/s" && BackendAB.pair(of: $0) == nil }
        var out = ""
        if !models.isEmpty {
            out += "| model | images/s ours | images/s PyTorch | ratio | ratio range (\(rounds) rounds) | achieved GFLOP/s (ours) | peak RSS ours (MiB) | peak RSS PyTorch (MiB) |\n"
            out += "|---|---:|---:|---:|---:|---:|---:|---:|\n"
        }
        for r in models {
            out += "| \(r.name) | \(f(r.ours)) | \(f(r.torch)) | \(ratio(r)) | \(spread(r)) | \(f(r.oursGFLOPs)) | \(f(r.peakRSSMiB, 0)) | \(f(r.torchPeakRSSMiB, 0)) |\n"
        }
        let kernels = rows.filter { $0.unit != "images/s" && BackendAB.pair(of: $0) == nil }
        if !kernels.isEmpty {
            out += "\n| kernel | \(kernels[0].unit) ours | PyTorch | ratio | ratio range |\n|---|---:|---:|---:|---:|\n"
            for r in kernels { out += "| \(r.name) | \(f(r.ours)) | \(f(r.torch)) | \(ratio(r)) | \(spread(r)) |\n" }
        }
        out += BackendAB.table(rows)
        // Geometric mean, so one fast row cannot hide a slow one as an arithmetic mean would.
        let ratios = rows.filter { $0.name.hasPrefix("train") || $0.name.hasPrefix("scalekd") }.compactMap(\.ratio)
        if !ratios.isEmpty {
            let geo = exp(ratios.map(log).reduce(0, +) / Double(ratios.count))
            out += String(format: "\nTraining ratio ours/PyTorch (median of rounds): geometric mean %.2f, min %.2f (%d rows, >= 1.0 is the goal).\n",
                          geo, ratios.min()!, ratios.count)
        }
        let ourStart = rows.compactMap(\.startRSSMiB).max(), torchStart = rows.compactMap(\.torchStartRSSMiB).max()
        if let ourStart {
            out += String(format: "\nRSS before any work (libraries, included in the peaks): ours %.0f MiB", ourStart)
            out += torchStart.map { String(format: ", PyTorch %.0f MiB (after `import torch`).\n", $0) } ?? ".\n"
        }
        return out + "\n" + note + "\n"
    }
}

public enum BenchError: Error, CustomStringConvertible {
    case childFailed(String, Int32)
    case torchFailed(Int32)

    public var description: String {
        switch self {
        case let .childFailed(job, status): return "bench job \(job) failed (exit status \(status))"
        case let .torchFailed(status):
            return "tools/bench_torch.py failed (exit status \(status)); see its message above (a parameter-count mismatch means the PyTorch presets no longer match the zoo)"
        }
    }
}
