import Data
import Distill
import Foundation
import Models
import NN
import Store
import Tensor
import Yams

/// One pre-trained teacher as recorded in data-manifests/teachers.yaml.
public struct TeacherRecord: Codable, Equatable {
    public var name: String
    public var file: String
    public var sha256: String
    public var top1: Double
    public var top5: Double
    public var epochs: Int
    public var trainImages: Int
    public var runKey: String
    public var wallSeconds: Double
    public var parameters: Int
    public var log: String
}

/// The committed teachers (data/teachers/*.h5) and how they are made: the paper starts
/// from downloaded pre-trained teachers, so does the suite; `make teachers` rebuilds them.
public struct TeacherStore {
    public let root: String
    public var manifestPath: String { root + "/data-manifests/teachers.yaml" }

    public init(root: String = ".") { self.root = root }

    /// The teachers of the small scale, with their pre-training length on the 60k set.
    public static let smallScaleTeachers: [(name: String, epochs: Int)] = [
        // Sized to the 3-hour budget for all four on 2 cores (see the closing notes for speeds).
        ("swin-mini-s", 5), ("swin-mini-b", 5), ("swin-mini-l", 6), ("vit-mini-l", 6),
    ]

    /// Pre-training recipe of the teachers (AdamW, warm-up + cosine, label smoothing, crop + flip).
    public static func pretrainConfig(_ name: String, epochs: Int, scale: String) throws -> RunConfig {
        var strategy = TrainingStrategy.advanced
        strategy.name = "teacher-pretrain"
        strategy.learningRate = 1e-3
        strategy.warmupEpochs = 1
        strategy.augmentation = .traditional
        let defaults = try ScaleDefaults.named(scale)
        return RunConfig(model: name, split: defaults.pretrainSplit, strategy: strategy,
                         epochs: epochs, batchSize: scale == "ci" ? 64 : 128, seed: 0, scale: scale)
    }

    public func records() throws -> [TeacherRecord] {
        guard let text = try? String(contentsOfFile: manifestPath, encoding: .utf8) else { return [] }
        return try YAMLDecoder().decode([TeacherRecord].self, from: text)
    }

    func write(_ records: [TeacherRecord]) throws {
        let header = "# Pre-trained small-scale teachers (written by `make teachers`; do not edit).\n"
        try writeAtomically(Data((header + (try YAMLEncoder().encode(records))).utf8), to: manifestPath)
    }

    /// Loads a teacher, refusing a file whose hash does not match the manifest.
    public func load(_ name: String) throws -> TeacherModel {
        guard let rec = try records().first(where: { $0.name == name }) else {
            throw ExperimentError.teacherMissing(name, "not in \(manifestPath); build it with `make teachers`")
        }
        let path = root + "/" + rec.file
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.teacherMissing(name, "\(path) is missing; restore it from git or rebuild with `make teachers`")
        }
        let hash = SHA256.hexDigest([UInt8](bytes))
        guard hash == rec.sha256 else {
            throw ExperimentError.teacherMissing(name, "\(path) has SHA-256 \(hash), the manifest says \(rec.sha256); rebuild with `make teachers` (or `git checkout \(rec.file)`)")
        }
        guard let teacher = try buildModel(name, seed: 0) as? TeacherModel else { throw ExperimentError.notATeacher(name) }
        let ck = try Checkpoint.load(from: path)
        try StateIO.load(ck.parameters, into: teacher.namedTensors(), path: path)
        teacher.freeze()
        teacher.setTraining(false)
        return teacher
    }

    /// Where an unfinished teacher run is kept in git, so a fresh clone resumes it.
    public func inProgressDirectory(_ config: RunConfig) -> String { root + "/data/teachers/in-progress/" + config.key }

    /// Copies an unfinished run's checkpoint and log into data/teachers/in-progress/ (to commit).
    public func saveInProgress(_ config: RunConfig, from dir: String) throws {
        let dest = inProgressDirectory(config)
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        for f in ["checkpoint.h5", "log.jsonl", "config.json"] where FileManager.default.fileExists(atPath: dir + "/" + f) {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
            try writeAtomically(data, to: dest + "/" + f)
        }
    }

    /// Seeds an empty run directory from data/teachers/in-progress/ (a fresh clone resumes there).
    func restoreInProgress(_ config: RunConfig, into dir: String) throws {
        let src = inProgressDirectory(config)
        guard !FileManager.default.fileExists(atPath: dir + "/checkpoint.h5"),
              FileManager.default.fileExists(atPath: src + "/checkpoint.h5") else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["checkpoint.h5", "log.jsonl", "config.json"] where FileManager.default.fileExists(atPath: src + "/" + f) {
            try? FileManager.default.removeItem(atPath: dir + "/" + f)
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
        print("resuming teacher \(config.model) from \(src)")
    }

    /// Trains (or resumes) each teacher on the pre-training set and records it.
    public func build(names: [String]?, scale: String, cache: RunCache, data: DataCatalog) throws {
        var recs = try records()
        let order = names ?? TeacherStore.smallScaleTeachers.map(\.name)
        for name in order {
            guard let epochs = TeacherStore.smallScaleTeachers.first(where: { $0.name == name })?.epochs else {
                throw ExperimentError.notATeacher(name)
            }
            let config = try TeacherStore.pretrainConfig(name, epochs: epochs, scale: scale)
            let dir = cache.directory(for: config)
            try restoreInProgress(config, into: dir)
            let result: RunResult = try cache.withLock(config) {
                let model = try buildModel(name, seed: config.seed)
                let trainer = Trainer(config: config, runDirectory: dir,
                                      objective: SupervisedObjective(student: model, labelSmoothing: config.strategy.labelSmoothing),
                                      trainSet: data.trainSet(config.split), testSet: data.testSet(config.split))
                return try trainer.run()!
            }
            // Parameters and buffers only: the optimizer state is not part of a released teacher.
            let full = try Checkpoint.load(from: dir + "/checkpoint.h5")
            let file = "data/teachers/\(name).h5"
            try FileManager.default.createDirectory(atPath: root + "/data/teachers", withIntermediateDirectories: true)
            try Checkpoint(parameters: full.parameters, epoch: full.epoch, step: full.step, configJSON: full.configJSON)
                .save(to: root + "/" + file)
            let bytes = FileManager.default.contents(atPath: root + "/" + file)!
            let logFile = "data/teachers/\(name).log.jsonl"
            try? FileManager.default.removeItem(atPath: root + "/" + logFile)
            try FileManager.default.copyItem(atPath: dir + "/log.jsonl", toPath: root + "/" + logFile)
            let rec = TeacherRecord(name: name, file: file, sha256: SHA256.hexDigest([UInt8](bytes)), top1: result.top1,
                                    top5: result.top5, epochs: config.epochs, trainImages: result.trainImages,
                                    runKey: config.key, wallSeconds: result.wallSeconds,
                                    parameters: full.parameters.values.reduce(0) { $0 + $1.values.count }, log: logFile)
            recs.removeAll { $0.name == name }
            recs.append(rec)
            try write(recs)
            try? FileManager.default.removeItem(atPath: inProgressDirectory(config))
            print("teacher \(name): top-1 \(String(format: "%.2f", result.top1))% -> \(file)")
        }
    }
}

/// Teachers for runs at a scale: the committed pre-trained ones (small), or at ci scale a
/// tiny one pre-trained here in seconds (cached like any run), so CI needs no weights.
public final class TeacherProvider {
    public let scale: String
    public let cache: RunCache
    public let data: DataCatalog
    public let store: TeacherStore
    var loaded: [String: TeacherModel] = [:]

    public init(scale: String, cache: RunCache, data: DataCatalog, store: TeacherStore = TeacherStore()) {
        self.scale = scale
        self.cache = cache
        self.data = data
        self.store = store
    }

    public func teacher(_ name: String) throws -> TeacherModel {
        if let t = loaded[name] { return t }
        let t: TeacherModel
        if scale == "ci" {
            let config = try TeacherStore.pretrainConfig(name, epochs: 2, scale: "ci")
            let dir = cache.directory(for: config)
            _ = try cache.withLock(config) {
                let model = try buildModel(name, seed: config.seed)
                return try Trainer(config: config, runDirectory: dir,
                                   objective: SupervisedObjective(student: model, labelSmoothing: config.strategy.labelSmoothing),
                                   trainSet: data.trainSet(config.split), testSet: data.testSet(config.split)).run()
            }
            guard let m = try buildModel(name, seed: 0) as? TeacherModel else { throw ExperimentError.notATeacher(name) }
            try StateIO.load(try Checkpoint.load(from: dir + "/checkpoint.h5").parameters, into: m.namedTensors(), path: dir)
            m.freeze()
            m.setTraining(false)
            t = m
        } else {
            t = try store.load(name)
        }
        loaded[name] = t
        return t
    }
}
