import Datasets
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
    /// Top-1 on the validation split after the last epoch (absent in records written before it was kept).
    public var validationTop1: Double? = nil

    public init(name: String, file: String, sha256: String, top1: Double, top5: Double, epochs: Int, trainImages: Int,
                runKey: String, wallSeconds: Double, parameters: Int, log: String, validationTop1: Double? = nil) {
        self.name = name; self.file = file; self.sha256 = sha256; self.top1 = top1; self.top5 = top5
        self.epochs = epochs; self.trainImages = trainImages; self.runKey = runKey; self.wallSeconds = wallSeconds
        self.parameters = parameters; self.log = log; self.validationTop1 = validationTop1
    }
}

/// The committed teachers (data/teachers/*.h5) and how they are made: the paper starts
/// from downloaded pre-trained teachers, so does the suite; `make teachers` rebuilds them.
public struct TeacherStore {
    public let root: String
    public var manifestPath: String { root + "/data-manifests/teachers.yaml" }

    public init(root: String = ".") { self.root = root }

    /// Pre-training recipe of every teacher: the known-good setting of a mini Swin on this
    /// data (about 92% top-1, measured with an independent PyTorch implementation): AdamW
    /// lr 1e-3, weight decay 0.05, batch 256, 2 warm-up epochs then cosine to 0, label
    /// smoothing 0.1, random crop with padding 2 (no flip: garments have a handedness in
    /// this data set's framing only weakly, and the anchor did not flip); drop path 0.1
    /// lives in the presets.
    public static let pretrainStrategy = TrainingStrategy(
        name: "teacher-pretrain", optimizer: .adamw, learningRate: 1e-3, weightDecay: 0.05, schedule: .cosine,
        warmupEpochs: 2, warmupStartFactor: 0.01, minLRFraction: 0, labelSmoothing: 0.1, gradientClip: nil,
        augmentation: Augmentation(cropPadding: 2))

    /// The pre-training run of a teacher of `scale` (Scale.teachers gives its epochs).
    public static func pretrainConfig(_ name: String, scale: Scale) throws -> RunConfig {
        guard let epochs = scale.teachers.first(where: { $0.name == name })?.epochs else {
            throw ExperimentError.notATeacher(name)
        }
        return RunConfig(model: name, split: try scale.pretrainSplit, strategy: pretrainStrategy,
                         epochs: epochs, batchSize: scale.teacherBatchSize, seed: 0, scale: scale)
    }

    public func records() throws -> [TeacherRecord] {
        guard let text = try? String(contentsOfFile: manifestPath, encoding: .utf8) else { return [] }
        do { return try YAMLDecoder().decode([TeacherRecord].self, from: text) } catch {
            throw SpecError(file: manifestPath, line: nil,
                            message: "malformed teachers manifest (\(error)); restore it with `git checkout \(manifestPath)` or rebuild with `make teachers`")
        }
    }

    /// Replaces `record`'s entry in the manifest. The manifest is read again under a lock
    /// (not reused from the start of a build): two teacher processes finish at different
    /// times, and the later one must not write back the earlier one's old record.
    public func update(_ record: TeacherRecord) throws {
        try FileLock.withLock(root + "/data-manifests/.teachers.lock") {
            var recs = try records()
            recs.removeAll { $0.name == record.name }
            recs.append(record)
            try write(recs)
        }
    }

    func write(_ records: [TeacherRecord]) throws {
        let header = "# Pre-trained small-scale teachers (written by `make teachers`; do not edit).\n"
        try AtomicWrite.write(Data((header + (try YAMLEncoder().encode(records))).utf8), to: manifestPath)
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
        return try TeacherStore.frozenTeacher(name, checkpoint: path)
    }

    /// A teacher preset with a checkpoint's weights, frozen and in eval mode: the one way a
    /// teacher is loaded (the committed store and ci's quick teachers both use it). Without a
    /// checkpoint its weights stay at their initialisation (cost measurements: Table 15).
    public static func frozenTeacher(_ name: String, checkpoint path: String?) throws -> TeacherModel {
        try frozenTeacher(name) { teacher in
            if let path { try StateIO.load(try Checkpoint.load(from: path).parameters, into: teacher.namedTensors(), path: path) }
        }
    }

    /// A teacher preset with weights put in by `loadWeights` (paper scale: a timm file),
    /// frozen and in eval mode.
    public static func frozenTeacher(_ name: String, loadWeights: (TeacherModel) throws -> Void) throws -> TeacherModel {
        guard let teacher = try buildModel(name, seed: 0) as? TeacherModel else { throw ExperimentError.notATeacher(name) }
        try loadWeights(teacher)
        teacher.freeze()
        teacher.setTraining(false)
        return teacher
    }

    /// Where an unfinished teacher run is kept in git, so a fresh clone resumes it. Named by
    /// the teacher, not the run key: the key moves when RunConfig's encoding changes, the
    /// recipe (`recipeFingerprint`) is what must match.
    /// The identity of a teacher's weights at a scale (RunConfig.teacherWeights): the SHA-256
    /// of the committed file (small; nil while it is not built), the key of its pre-training
    /// run (ci, where it is trained in the cache), nil at paper scale.
    /// A malformed manifest is an error (it would otherwise drop the hash from run keys);
    /// pass `records` when resolving many runs, so the manifest is read once.
    public func weightsID(_ name: String, scale: Scale, records given: [TeacherRecord]? = nil) throws -> String? {
        switch scale {
        case .ci: return try TeacherStore.pretrainConfig(name, scale: .ci).key
        case .small: return try (given ?? records()).first { $0.name == name }?.sha256
        case .paper: return nil
        }
    }

    public func inProgressDirectory(_ name: String) -> String { root + "/data/teachers/in-progress/" + name }

    /// What must be equal for a saved unfinished run to be resumed: model, data, recipe,
    /// schedule, batch and seed.
    static func recipeFingerprint(_ c: RunConfig) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let strategy = String(decoding: (try? enc.encode(c.strategy)) ?? Data(), as: UTF8.self)
        let split = String(decoding: (try? enc.encode(c.split)) ?? Data(), as: UTF8.self)
        return "\(c.model) scale \(c.scale) epochs \(c.epochs) batch \(c.batchSize) seed \(c.seed) split \(split) strategy \(strategy)\n"
    }

    static let progressFiles = ["checkpoint.h5", "log.jsonl", "config.json"]

    /// Copies an unfinished run's checkpoint and log into data/teachers/in-progress/<name>/ (to commit).
    public func saveInProgress(_ config: RunConfig, from dir: String) throws {
        let dest = inProgressDirectory(config.model)
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        for f in TeacherStore.progressFiles where FileManager.default.fileExists(atPath: dir + "/" + f) {
            try AtomicWrite.write(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f)), to: dest + "/" + f)
        }
        try AtomicWrite.write(Data(TeacherStore.recipeFingerprint(config).utf8), to: dest + "/recipe.txt")
    }

    /// Seeds an empty run directory from data/teachers/in-progress/<name>/ when its recipe
    /// is this config's (a fresh clone resumes there); a saved run of another recipe is
    /// reported and left alone.
    func restoreInProgress(_ config: RunConfig, into dir: String) throws {
        let src = inProgressDirectory(config.model)
        guard !FileManager.default.fileExists(atPath: dir + "/checkpoint.h5"),
              FileManager.default.fileExists(atPath: src + "/checkpoint.h5") else { return }
        let saved = (try? String(contentsOfFile: src + "/recipe.txt", encoding: .utf8)) ?? "(no recipe.txt)"
        guard saved == TeacherStore.recipeFingerprint(config) else {
            print("not resuming \(src): it was saved for another recipe (\(saved.trimmingCharacters(in: .newlines))); training \(config.model) from the start")
            return
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in TeacherStore.progressFiles where FileManager.default.fileExists(atPath: src + "/" + f) {
            try? FileManager.default.removeItem(atPath: dir + "/" + f)
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
        // The recipe matched, so the saved run is this run under an older encoding of its
        // config (e.g. before the engine version entered the key): record this run's config
        // in the checkpoint and folder so the trainer's check sees its own run.
        let ck = try Checkpoint.load(from: dir + "/checkpoint.h5")
        try Checkpoint(parameters: ck.parameters, optimizerState: ck.optimizerState,
                       epoch: ck.epoch, step: ck.step, configJSON: config.canonicalJSON).save(to: dir + "/checkpoint.h5")
        try AtomicWrite.write(Data(config.canonicalJSON.utf8), to: dir + "/config.json")
        print("resuming teacher \(config.model) from \(src)")
    }

    /// Trains (or resumes) each teacher on the pre-training set and records it.
    public func build(names: [String]?, cache: RunCache, data: DataCatalog, checkpointSeconds: Double = 60) throws {
        _ = try records()  // a malformed manifest fails before hours of training, not after
        let order = names ?? Scale.small.teachers.map(\.name)
        let configs = try order.map { try TeacherStore.pretrainConfig($0, scale: .small) }  // unknown names fail before any training
        for config in configs {
            let name = config.model
            let dir = cache.directory(for: config)
            try restoreInProgress(config, into: dir)
            let result = try cache.train(config, data: data, teachers: TeacherProvider(scale: .small, cache: cache, data: data),
                                         checkpointSeconds: checkpointSeconds)!
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
                                    parameters: full.parameters.values.reduce(0) { $0 + $1.values.count }, log: logFile,
                                    validationTop1: result.validationTop1)
            try update(rec)
            try? FileManager.default.removeItem(atPath: inProgressDirectory(name))
            print("teacher \(name): top-1 \(String(format: "%.2f", result.top1))% -> \(file)")
        }
    }
}

/// Teachers for runs at a scale: the committed pre-trained ones (small), or at ci scale a
/// tiny one pre-trained here in seconds (cached like any run), so CI needs no weights.
public final class TeacherProvider: TeacherSource {
    public let scale: Scale
    public let cache: RunCache
    public let data: DataCatalog
    public let store: TeacherStore
    var loaded: [String: TeacherModel] = [:]

    public init(scale: Scale, cache: RunCache, data: DataCatalog, store: TeacherStore = TeacherStore()) {
        self.scale = scale
        self.cache = cache
        self.data = data
        self.store = store
    }

    public func teacher(_ name: String) throws -> TeacherModel {
        if let t = loaded[name] { return t }
        let t: TeacherModel
        if scale == .ci {
            let config = try TeacherStore.pretrainConfig(name, scale: .ci)
            let dir = cache.directory(for: config)
            _ = try cache.train(config, data: data, teachers: self)
            t = try TeacherStore.frozenTeacher(name, checkpoint: dir + "/checkpoint.h5")
        } else {
            t = try store.load(name)
        }
        loaded[name] = t
        return t
    }
}

extension TeacherStore {
    /// Saves every unfinished teacher run of the cache to data/teachers/in-progress/; returns their names.
    public func saved(names: [String]?, cache: RunCache) throws -> [String] {
        var out: [String] = []
        for (name, _) in Scale.small.teachers where names?.contains(name) ?? true {
            let config = try TeacherStore.pretrainConfig(name, scale: .small)
            let dir = cache.directory(for: config)
            let fm = FileManager.default
            guard fm.fileExists(atPath: dir + "/checkpoint.h5"), !fm.fileExists(atPath: dir + "/result.json") else { continue }
            try saveInProgress(config, from: dir)
            out.append(name)
        }
        return out
    }
}
