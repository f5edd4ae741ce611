import Datasets
import Distill
import Foundation
import Models
import NN
import Store
import Tensor

public enum ExperimentError: Error, CustomStringConvertible {
    case unknownScale(String)
    case paperScaleNeedsData
    case teacherMissing(String, String)
    case notATeacher(String)

    public var description: String {
        switch self {
        case .unknownScale(let s): return "unknown scale '\(s)' (use ci, small or paper)"
        case .paperScaleNeedsData:
            return "paper scale needs ImageNet in the folder layout and paper-size teacher weights; see README (not run on this machine)"
        case let .teacherMissing(name, how): return "no pre-trained teacher '\(name)': \(how)"
        case .notATeacher(let n): return "'\(n)' cannot be a teacher (it has no forwardLastStage)"
        }
    }
}

/// Loads Fashion-MNIST once per process and cuts the splits runs ask for.
public final class DataCatalog {
    public let fashion: FashionMNIST

    public init() throws {
        fashion = try FashionMNIST.load(manifest: try FashionMNISTManifest.locate())
    }

    public func trainSet(_ s: DataSplit) -> ImageDataset {
        switch s.train {
        case .pretrain: return fashion.teacherPretrainSet
        case .student: return fashion.studentSubset(perClass: s.perClass, seed: s.subsetSeed)
        }
    }

    public func testSet(_ s: DataSplit) -> ImageDataset {
        if let k = s.testPerClass { return fashion.ciTestSet(perClass: k, seed: s.subsetSeed) }
        return fashion.testSet
    }

    public func validationSet(_ s: DataSplit) -> ImageDataset {
        if let k = s.validationPerClass { return fashion.ciValidationSet(perClass: k, seed: s.subsetSeed) }
        return fashion.validationSet
    }

    /// What a run trains on and is measured on, for its first progress line.
    public func describe(_ s: DataSplit) -> String {
        let t = trainSet(s), v = validationSet(s), e = testSet(s)
        return "train on \(t.name) (\(t.count) images); validation \(v.name) (\(v.count)); test \(e.name) (\(e.count))"
    }
}

/// Builds a model preset with a seed, failing clearly for unknown names.
public func buildModel(_ name: String, seed: UInt64) throws -> ImageClassifier {
    guard let p = Zoo.preset(named: name) else { throw TrainingError.unknownModel(name) }
    var rng = RandomGenerator(seed: seed, stream: 0x5EED)
    return p.build(&rng)
}

/// The runs/ cache: one directory per run key, guarded by an exclusive lock so two
/// processes never train the same run at once.
public struct RunCache {
    public let root: String

    public init(root: String = "runs") { self.root = root }

    public func directory(for config: RunConfig) -> String { "\(root)/\(config.key)" }

    /// Runs `body` holding the run's lock (waits, with a message, if another process has it).
    public func withLock<T>(_ config: RunConfig, _ body: () throws -> T) throws -> T {
        try withLock(config, wait: true, body)!
    }

    /// Runs `body` holding the run's lock; when another process holds it, waits for it
    /// (`wait`) or returns nil at once.
    public func withLock<T>(_ config: RunConfig, wait: Bool, _ body: () throws -> T) throws -> T? {
        let dir = directory(for: config)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(dir + "/.lock", O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: dir + "/.lock"]) }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard wait else { return nil }
            print("waiting for another process training run \(config.key) (\(config.model))...")
            flock(fd, LOCK_EX)
        }
        defer { flock(fd, LOCK_UN) }
        let configPath = dir + "/config.json"
        if !FileManager.default.fileExists(atPath: configPath) {
            try AtomicWrite.write(Data(config.canonicalJSON.utf8), to: configPath)
        }
        do {
            return try body()
        } catch {
            // A run that failed before its first checkpoint (bad teacher, bad data, a crash
            // in set-up) leaves no folder behind; one with a checkpoint keeps it to resume.
            let fm = FileManager.default
            if !fm.fileExists(atPath: dir + "/checkpoint.h5") && !fm.fileExists(atPath: dir + "/result.json") {
                try? fm.removeItem(atPath: dir)
            }
            throw error
        }
    }

    /// The cached result, or the result of `train` run under the run's lock. The cache is
    /// checked again once the lock is held: a process that waited for another one training
    /// the same run takes its result instead of training it a second time. With `wait:
    /// false` it returns nil at once when another process holds the run.
    public func resultOrTrain(_ config: RunConfig, wait: Bool = true, _ train: () throws -> RunResult) throws -> RunResult? {
        if let r = result(for: config) { return r }
        return try withLock(config, wait: wait) { try result(for: config) ?? train() }
    }

    public func result(for config: RunConfig) -> RunResult? { result(key: config.key) }

    public func result(key: String) -> RunResult? { RunResult.load(from: "\(root)/\(key)/result.json") }
}

extension RunCache {
    /// Trains (or resumes, or takes from the cache) one run under its lock: the one way a
    /// run is trained, used by `scalekd train/distill`, the tables and the teachers. With
    /// `wait: false` it returns nil at once when another process holds the run.
    public func train(_ config: RunConfig, data: DataCatalog, teachers: TeacherProvider, wait: Bool = true,
                      checkpointSeconds: Double = 60) throws -> RunResult? {
        try resultOrTrain(config, wait: wait) {
            let objective = try makeObjective(for: config) { try teachers.teacher($0) }
            if let key = config.initFrom {
                // Fine-tuning: the student starts from another run's final weights.
                let path = "\(root)/\(key)/checkpoint.h5"
                let params = try Checkpoint.load(from: path).parameters
                let stripped = Dictionary(uniqueKeysWithValues: params.map {
                    ($0.key.hasPrefix("student.") ? String($0.key.dropFirst(8)) : $0.key, $0.value)
                })
                try StateIO.load(stripped, into: objective.student.namedTensors(), path: path)
            }
            let trainer = Trainer(config: config, runDirectory: directory(for: config), objective: objective,
                                  trainSet: data.trainSet(config.split), validationSet: data.validationSet(config.split),
                                  testSet: data.testSet(config.split))
            trainer.checkpointSeconds = checkpointSeconds
            return try trainer.run()!
        }
    }
}

/// Turns a run config into its objective (plain or distilled), loading the teacher.
public func makeObjective(for config: RunConfig, teacherLoader: (String) throws -> TeacherModel) throws -> TrainingObjective {
    let student = try buildModel(config.model, seed: config.seed)
    guard let method = config.method, method.name != .baseline else {
        return SupervisedObjective(student: student, labelSmoothing: config.strategy.labelSmoothing)
    }
    let kind = method.name
    guard let teacherName = config.teacher else { throw ExperimentError.teacherMissing("(none)", "the method needs a teacher") }
    let teacher = try teacherLoader(teacherName)
    var rng = RandomGenerator(seed: config.seed, stream: 0xD157)
    return Distiller(teacher: teacher, student: student, kind: kind, options: ScaleKDOptions(method),
                     labelSmoothing: config.strategy.labelSmoothing, rng: &rng)
}

extension ScaleKDOptions {
    /// The method's options with a run's settings applied (unset ones keep the defaults).
    public init(_ m: MethodConfig) {
        self.init()
        let f = m.flags, o = m.options
        if let v = f.cap { cap = v }
        if let v = f.dfm { dfm = v }
        if let v = f.tpp { tpp = v }
        if let v = f.kd { kd = v }
        if let v = f.teacherTrain { teacherMode = v ? .train : .eval }
        if let v = o.alphaSpatial { alphaSpatial = [Float(v), Float(v)] }
        if let v = o.alphaFrequency { alphaFrequency = [Float(v), Float(v)] }
        if let b = o.beta { setBeta(Float(b), lambda: Float(o.lambda ?? 0.14)) }
        if let v = o.alphaSpatialS3 { alphaSpatial[0] = Float(v) }
        if let v = o.alphaSpatialS4 { alphaSpatial[1] = Float(v) }
        if let v = o.alphaFrequencyS3 { alphaFrequency[0] = Float(v) }
        if let v = o.alphaFrequencyS4 { alphaFrequency[1] = Float(v) }
        if let v = o.kdWeight { kdWeight = Float(v) }
        if let v = o.kdTemperature { kdTemperature = Float(v) }
        if let v = o.softmaxScale { softmaxScale = Float(v) }
        if let h3 = o.headsS3 { heads[0] = h3 }
        if let h4 = o.headsS4 { heads[1] = h4 }
        stages = ((f.stage3 ?? true) ? [3] : []) + ((f.stage4 ?? true) ? [4] : [])
    }
}
