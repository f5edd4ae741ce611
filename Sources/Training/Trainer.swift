import Datasets
import Distill
import Foundation
import Models
import NN
import Store
import Tensor

/// Images per second over the interval since the previous reading.
struct RateMeter {
    private var lastTime = Date(), lastImages = 0

    var secondsSinceReading: TimeInterval { Date().timeIntervalSince(lastTime) }

    mutating func rate(images: Int) -> Double {
        let now = Date()
        let r = Double(images - lastImages) / max(now.timeIntervalSince(lastTime), 1e-9)
        lastTime = now; lastImages = images
        return r
    }
}

/// Trains one run with checkpoints every epoch (and every `checkpointSeconds` inside
/// one), resumable after a kill at any moment with bit-identical results: batches,
/// augmentation and every random draw are functions of (seed, epoch, step).
public final class Trainer {
    public let config: RunConfig
    public let runDirectory: String
    public let objective: TrainingObjective
    /// Fashion-MNIST in memory (ci, small) or an ImageNet-layout folder (paper): ImageSource.
    public let trainSet: any ImageSource
    public let validationSet: any ImageSource
    public let testSet: any ImageSource
    public var checkpointSeconds: Double = 60
    public var progressSeconds: Double = 5
    public var log: (String) -> Void = { print($0); fflush(stdout) }
    /// For tests: stop (as if killed) after this many optimizer steps in this process.
    public var stopAfterSteps: Int? = nil
    /// The processes this run trains in (DataParallel): one, or the ranks of an mpirun.
    /// Rank 0 alone writes the checkpoints, the log and the result, and evaluates.
    public var dataParallel: DataParallel = .single

    public var checkpointPath: String { runDirectory + "/checkpoint.h5" }
    public var resultPath: String { runDirectory + "/result.json" }
    public var logPath: String { runDirectory + "/log.jsonl" }

    public init(config: RunConfig, runDirectory: String, objective: TrainingObjective,
                trainSet: any ImageSource, validationSet: any ImageSource, testSet: any ImageSource) {
        self.config = config
        self.runDirectory = runDirectory
        self.objective = objective
        self.trainSet = trainSet
        self.validationSet = validationSet
        self.testSet = testSet
    }

    /// Epochs (1-based) after which validation top-1 is measured. Every epoch while a
    /// validation pass costs under a twentieth of the epoch's training (about 3 forward
    /// passes per training image): teachers on 55k images. A student's 1k-image epoch costs
    /// less than a pass over the 5k validation images, so its curve is sampled: about 20
    /// points, plus four fifths of the run (the convergence check's mark) and the last.
    public static func evaluatedEpochs(of epochs: Int, trainImages: Int, validationImages: Int) -> [Int] {
        guard epochs > 0 else { return [] }
        let every = 3 * trainImages >= 20 * validationImages ? 1 : (epochs + 19) / 20
        var out = Set(stride(from: every, through: epochs, by: every))
        out.insert(epochs)
        out.insert(max(1, Int(Double(epochs) * 0.8)))
        return out.sorted()
    }

    func makeOptimizer() -> Optimizer {
        let s = config.strategy
        let slots = parameterSlots(objective.trainable.namedParameters(), weightDecay: s.weightDecay)
        switch s.optimizer {
        case .sgd: return SGD(slots, momentum: s.momentum, nesterov: s.nesterov)
        case .adamw: return AdamW(slots)
        case .lamb: return LAMB(slots)
        }
    }

    func schedule(stepsPerEpoch: Int) -> LRSchedule {
        let s = config.strategy, total = stepsPerEpoch * config.epochs
        return LRSchedule(kind: s.schedule, baseLR: s.learningRate, totalSteps: total,
                          milestones: s.milestonesFraction.map { Int($0 * Double(total)) },
                          minLR: s.learningRate * s.minLRFraction,
                          warmupSteps: Int(Trainer.warmupEpochs(s.warmupEpochs, of: config.epochs) * Double(stepsPerEpoch)),
                          warmupStartFactor: s.warmupStartFactor)
    }

    /// Warm-up takes at most a quarter of a run: the advanced strategy's 5 epochs are written
    /// for runs of 20+ epochs, and would cover all of a 2-epoch run, whose learning rate
    /// would then never peak.
    public static func warmupEpochs(_ warmup: Double, of epochs: Int) -> Double { min(warmup, Double(epochs) / 4) }

    /// Runs to completion (or to `stopAfterSteps`); returns the result when finished (on
    /// rank 0: the other ranks of a data-parallel run return nil).
    @discardableResult
    public func run() throws -> RunResult? {
        precondition((config.worldSize ?? 1) == dataParallel.worldSize,
                     "run \(config.key) is for \(config.worldSize ?? 1) processes, trained by \(dataParallel.worldSize)")
        let writes = dataParallel.writes
        if !writes { log = { _ in } }
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        // The caller holds the run's lock: a temporary file here is a write a kill interrupted.
        for path in [checkpointPath, resultPath] where writes {
            for f in AtomicWrite.removeLeftovers(of: path) { log("removed \(f), left by an interrupted write") }
        }
        if let data = FileManager.default.contents(atPath: resultPath),
           let done = try? JSONDecoder().decode(RunResult.self, from: data) { return done }
        let optimizer = makeOptimizer()
        let state = objective.trainable.namedTensors()
        let stepsPerEpoch = trainSet.trainingSteps(batchSize: config.batchSize)
        stepsPerEpochCache = stepsPerEpoch
        guard stepsPerEpoch > 0, config.epochs > 0 else {
            throw TrainingError.noSteps(detail: "\(trainSet.count) training images, batch \(config.batchSize), \(config.epochs) epochs")
        }
        let lr = schedule(stepsPerEpoch: stepsPerEpoch)
        var globalStep = 0
        var previousWall = 0.0
        var curve: [EpochEvaluation] = []
        if FileManager.default.fileExists(atPath: checkpointPath) {
            let ck = try Checkpoint.load(from: checkpointPath)
            // Compared as decoded configs, so a checkpoint written before a compatible change
            // of the encoding (a new optional field) still resumes.
            let stored = try? JSONDecoder().decode(RunConfig.self, from: Data(ck.configJSON.utf8))
            guard stored == config else {
                let other = stored.map { "run \($0.key) (\($0.model), \($0.epochs) epochs, seed \($0.seed))" } ?? "an unreadable config"
                throw TrainingError.checkpointMismatch(path: checkpointPath,
                    detail: "it belongs to \(other), this is run \(config.key) (\(config.model), \(config.epochs) epochs, seed \(config.seed))")
            }
            try StateIO.load(ck.parameters, into: state, path: checkpointPath)
            try StateIO.load(ck.optimizerState, into: optimizer.stateTensors(), path: checkpointPath)
            globalStep = ck.step
            optimizer.stepCount = ck.step  // one optimizer step per training step
            previousWall = Double(ck.optimizerState[Trainer.wallKey]?.values.first ?? 0)
            curve = Trainer.decodeCurve(ck.optimizerState[Trainer.curveKey])
            log("resuming \(config.model) at step \(globalStep) (epoch \(globalStep / max(stepsPerEpoch, 1) + 1)) from \(checkpointPath)")
        }
        let logHandle = writes ? try openLog() : nil
        defer { try? logHandle?.close() }
        let totalSteps = stepsPerEpoch * config.epochs
        let evaluated = Set(Trainer.evaluatedEpochs(of: config.epochs, trainImages: trainSet.count, validationImages: validationSet.count))
        let stochastic = objective.trainable.stochasticLayers()  // the module walk once, not per step
        let started = Date()
        var lastCheckpoint = Date()
        var stepsThisProcess = 0, imagesThisProcess = 0
        var logRate = RateMeter(), progressRate = RateMeter()
        var finalTest: (top1: Double, top5: Double)? = nil
        var lastLosses: [String: Double] = [:]
        // Image folders leave out files that do not decode: each is named once, when first met.
        var skippedFiles = Set<String>()
        func reportSkipped(_ file: String) { if skippedFiles.insert(file).inserted { log("skipped unreadable image \(file)") } }
        func evaluate(_ set: any ImageSource) -> (top1: Double, top5: Double) {
            Trainer.evaluate(objective.student, on: set, onSkipped: reportSkipped)
        }
        let rows = dataParallel.rows(ofBatch: config.batchSize)
        objective.trainable.setTraining(true)
        while globalStep < totalSteps {
            let epoch = globalStep / stepsPerEpoch, inEpoch = globalStep % stepsPerEpoch
            let loader = trainSet.trainingBatches(batchSize: config.batchSize, epoch: epoch, seed: config.seed,
                                                  augmentation: config.strategy.augmentation, startStep: inEpoch, rows: rows)
            for batch in loader {
                batch.skipped.forEach(reportSkipped)
                // Drop path and dropout draw from streams of (seed, step): a resumed run
                // draws the same masks as an uninterrupted one.
                for layer in stochastic {
                    layer.restartStream(seed: config.seed, step: globalStep, rows: BatchRows(rows, of: config.batchSize))
                }
                let n = batch.count  // this process's rows of the global batch
                guard n > 0 else { throw TrainingError.emptyBatch(step: globalStep, skipped: batch.skipped) }
                let images = Tensor(shape: [n, trainSet.channels, trainSet.size, trainSet.size], values: batch.images)
                let soft = batch.softLabels.map { Tensor(shape: [n, trainSet.classCount], values: $0) }
                optimizer.zeroGradients()
                let terms = objective.losses(images: images, labels: batch.labels, softLabels: soft)
                var total: Tensor? = nil
                var means: [Float] = []
                for (name, value) in terms {
                    let v = value.scalar
                    guard v.isFinite else {
                        throw TrainingError.nonFinite(step: globalStep, term: name, value: v, checkpoint: checkpointPath)
                    }
                    means.append(v)
                    total = total.map { $0 + value } ?? value
                }
                total!.backward()
                dataParallel.sumGradients(of: optimizer.slots, means: &means, rows: n, batch: config.batchSize)
                for ((name, _), v) in zip(terms, means) { lastLosses[name] = Double(v) }
                if let clip = config.strategy.gradientClip {
                    lastLosses["grad_norm"] = Double(clipGradientNorm(optimizer.slots.map(\.tensor), maxNorm: clip))
                }
                let rate = lr.learningRate(atStep: globalStep)
                optimizer.step(learningRate: rate)
                globalStep += 1
                stepsThisProcess += 1
                imagesThisProcess += config.batchSize  // the global batch: rates are all the ranks'
                if writes, globalStep % 10 == 0 || globalStep == totalSteps {
                    var entry: [String: Double] = lastLosses
                    entry["step"] = Double(globalStep); entry["epoch"] = Double(epoch); entry["lr"] = Double(rate)
                    entry["images_per_s"] = logRate.rate(images: imagesThisProcess)
                    if let line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) {
                        logHandle?.write(line + Data("\n".utf8))
                    }
                }
                if progressRate.secondsSinceReading >= progressSeconds || globalStep == totalSteps {
                    // The rate since the last progress line, not since the start: on a shared
                    // machine the speed changes, and the ETA should follow it.
                    let speed = progressRate.rate(images: imagesThisProcess)
                    let eta = Double(totalSteps - globalStep) * Double(config.batchSize) / max(speed, 1e-9)
                    let terms = lastLosses.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: ", ")
                    log("[\(config.model)] epoch \(epoch + 1)/\(config.epochs) step \(globalStep)/\(totalSteps) | \(terms) | lr \(String(format: "%.2e", rate)) | \(Int(speed)) img/s | ETA \(formatDuration(eta))")
                }
                let endOfEpoch = globalStep % stepsPerEpoch == 0
                if writes, endOfEpoch, evaluated.contains(globalStep / stepsPerEpoch) {
                    var e = EpochEvaluation(epoch: globalStep / stepsPerEpoch,
                                            validationTop1: evaluate(validationSet).top1)
                    if globalStep == totalSteps {
                        let t = evaluate(testSet)
                        finalTest = t
                        e.testTop1 = t.top1
                    }
                    curve.removeAll { $0.epoch == e.epoch }
                    curve.append(e)
                    var entry: [String: Double] = ["epoch": Double(e.epoch), "validation_top1": e.validationTop1]
                    entry["test_top1"] = e.testTop1
                    if let line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) {
                        logHandle?.write(line + Data("\n".utf8))
                    }
                    log("[\(config.model)] epoch \(e.epoch)/\(config.epochs): validation top-1 \(String(format: "%.2f", e.validationTop1))%"
                        + (e.testTop1.map { ", test top-1 \(String(format: "%.2f", $0))%" } ?? ""))
                }
                if writes, endOfEpoch || Date().timeIntervalSince(lastCheckpoint) >= checkpointSeconds {
                    try saveCheckpoint(state: state, optimizer: optimizer, step: globalStep,
                                       wall: previousWall + Date().timeIntervalSince(started), curve: curve)
                    lastCheckpoint = Date()
                }
                if let stop = stopAfterSteps, stepsThisProcess >= stop { return nil }
            }
        }
        guard writes else { return nil }
        if !skippedFiles.isEmpty { log("[\(config.model)] unreadable images left out of training and evaluation: \(skippedFiles.count) (named above)") }
        let wall = previousWall + Date().timeIntervalSince(started)
        // The last epoch's test pass, unless the run was resumed after it.
        let (top1, top5) = finalTest ?? evaluate(testSet)
        var result = RunResult(key: config.key, top1: top1, top5: top5, testImages: testSet.count, trainImages: trainSet.count,
                               epochs: config.epochs, steps: globalStep, wallSeconds: wall,
                               imagesPerSecond: Double(imagesThisProcess) / max(Date().timeIntervalSince(started), 1e-9),
                               finalLosses: lastLosses)
        result.validationTop1 = curve.last(where: { $0.epoch == config.epochs })?.validationTop1
            ?? evaluate(validationSet).top1
        result.curve = curve
        result.provenance = Provenance.current()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(try enc.encode(result), to: resultPath)
        log("[\(config.model)] done: test top-1 \(String(format: "%.2f", top1))%, top-5 \(String(format: "%.2f", top5))% (last epoch) in \(formatDuration(wall))")
        return result
    }

    static let wallKey = "_run.wall_seconds"
    /// The evaluation curve so far, as rows of (epoch, validation top-1, test top-1).
    static let curveKey = "_run.curve"
    var stepsPerEpochCache = 1

    static func encodeCurve(_ curve: [EpochEvaluation]) -> NamedArray {
        NamedArray(shape: [curve.count, 3], values: curve.flatMap { [Float($0.epoch), Float($0.validationTop1), Float($0.testTop1 ?? .nan)] })
    }

    static func decodeCurve(_ a: NamedArray?) -> [EpochEvaluation] {
        guard let a, a.shape.count == 2, a.shape[1] == 3 else { return [] }
        return (0..<a.shape[0]).map {
            let test = Double(a.values[3 * $0 + 2])
            return EpochEvaluation(epoch: Int(a.values[3 * $0]), validationTop1: Double(a.values[3 * $0 + 1]), testTop1: test.isNaN ? nil : test)
        }
    }

    func saveCheckpoint(state: [(String, Tensor)], optimizer: Optimizer, step: Int, wall: Double, curve: [EpochEvaluation]) throws {
        // No RNG state is stored: every random draw is a function of (seed, epoch, step).
        var opt = StateIO.arrays(optimizer.stateTensors())
        opt[Trainer.wallKey] = NamedArray(shape: [1], values: [Float(wall)])
        if !curve.isEmpty { opt[Trainer.curveKey] = Trainer.encodeCurve(curve) }
        let ck = Checkpoint(parameters: StateIO.arrays(state), optimizerState: opt,
                            epoch: step / max(1, stepsPerEpochCache), step: step, configJSON: config.canonicalJSON)
        checkpointsWritten += 1
        try ck.save(to: checkpointPath, interrupt: checkpointsWritten == Trainer.killInCheckpoint ? { kill(getpid(), SIGKILL) } : nil)
    }

    /// Test hook (KillResumeTests): SCALEKD_KILL_IN_CHECKPOINT=n makes the process kill itself
    /// with SIGKILL halfway through its n-th checkpoint write (parameters written, optimizer not).
    static let killInCheckpoint = ProcessInfo.processInfo.environment["SCALEKD_KILL_IN_CHECKPOINT"].flatMap(Int.init)
    private var checkpointsWritten = 0

    func openLog() throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        h.seekToEndOfFile()
        return h
    }

    /// Top-1 and top-5 (%) on the test split, in evaluation mode.
    public func evaluate(batchSize: Int? = nil) -> (Double, Double) {
        Trainer.evaluate(objective.student, on: testSet, batchSize: batchSize)
    }

    /// Top-1 and top-5 (%) over the images that decode (every image of an in-memory set);
    /// `onSkipped` hears of each file an image folder leaves out.
    public static func evaluate(_ model: ImageClassifier, on data: any ImageSource, batchSize: Int? = nil,
                                onSkipped: (String) -> Void = { _ in }) -> (top1: Double, top5: Double) {
        model.setTraining(false)
        defer { model.setTraining(true) }
        var hit1 = 0, hit5 = 0, seen = 0
        for b in data.evaluationBatches(batchSize: batchSize ?? data.evaluationBatchSize) {
            b.skipped.forEach(onSkipped)
            guard b.count > 0 else { continue }
            let logits = withoutGrad { model(Tensor(shape: [b.count, data.channels, data.size, data.size], values: b.images)) }
            let c = logits.shape[1], p = logits.pointer
            for i in 0..<b.count {
                let rank = Trainer.rank(of: b.labels[i], in: UnsafeBufferPointer(start: p + i * c, count: c))
                if rank == 0 { hit1 += 1 }
                if rank < 5 { hit5 += 1 }
            }
            seen += b.count
        }
        return (100 * Double(hit1) / Double(max(seen, 1)), 100 * Double(hit5) / Double(max(seen, 1)))
    }

    /// How many logits are at least as high as the label's (0: top-1; < 5: top-5). Ties
    /// count against the label, so a constant output scores 0, not 100% (a sort would
    /// break them in whatever order it happened to leave).
    public static func rank(of label: Int, in logits: UnsafeBufferPointer<Float>) -> Int {
        let target = logits[label]
        var above = 0
        for (j, v) in logits.enumerated() where j != label && !(v < target) { above += 1 }
        return above
    }
}

public func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
}
