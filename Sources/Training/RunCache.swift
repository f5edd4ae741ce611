import Foundation
import Store

/// The runs/ cache: one directory per run key, guarded by an exclusive lock so two
/// processes never train the same run at once.
///
/// Finished small- and paper-scale runs are also recorded in the committed results store
/// (results/<key>.json: the run's config and result), so a fresh clone knows every
/// finished run without its checkpoint and a campaign resumes on another machine. ci runs
/// are never recorded: CI trains them from an empty cache so the current code is what runs.
public struct RunCache {
    public let root: String
    /// The results store folder (nil: none).
    public let store: String?

    public init(root: String = "runs", store: String? = RunCache.committedStore) { self.root = root; self.store = store }

    /// The repository's results/ folder, found from the current directory upwards.
    public static var committedStore: String? { StrictYAML.locate("results") }

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
        return try FileLock.withLock(dir + "/.lock", wait: wait,
                                     onWait: { print("waiting for another process training run \(config.key) (\(config.model))...") }) {
            try whileLocked(config, dir, body)
        }
    }

    private func whileLocked<T>(_ config: RunConfig, _ dir: String, _ body: () throws -> T) throws -> T {
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

    public func result(key: String) -> RunResult? {
        RunResult.load(from: "\(root)/\(key)/result.json") ?? store.flatMap { RunRecord.load(from: "\($0)/\(key).json")?.result }
    }

    /// Records a finished run in the store (not at ci scale).
    public func record(_ config: RunConfig, _ result: RunResult) throws {
        guard let store, config.scale != .ci else { return }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(try enc.encode(RunRecord(config: config, result: result)), to: "\(store)/\(config.key).json")
    }
}

extension RunCache {
    /// Where a finished run's final weights are read from: its checkpoint in the run cache,
    /// else the parameters-only copy the results store keeps for runs that later steps need
    /// (results/weights/<key>.h5: a fine-tuning run's start, Figure 6's models), which a
    /// fresh machine has from git. nil: neither.
    public func weightsPath(key: String) -> String? {
        let local = "\(root)/\(key)/checkpoint.h5"
        if FileManager.default.fileExists(atPath: local) { return local }
        return store.map { "\($0)/weights/\(key).h5" }.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
    }

    /// The finished run's final weights, or an error naming the run and the fix.
    public func finalWeights(key: String) throws -> (parameters: [String: NamedArray], path: String) {
        guard let path = weightsPath(key: key) else {
            throw InputError("the weights of run \(key) are not on this machine: its record (results/\(key).json) is, but "
                + "its checkpoint stayed in the run cache of the machine that trained it and results/weights/\(key).h5 "
                + "does not exist; delete results/\(key).json to train the run again here")
        }
        return (try Checkpoint.load(from: path).parameters, path)
    }

    /// Copies a finished run's final parameters (no optimizer state) into the results store,
    /// to be committed, when a later step needs them and the store lacks them. Small scale
    /// only: ci runs are never recorded, and paper-size weights (100 MB and up) do not belong
    /// in git (a paper campaign shares its run cache: README, On a cluster). Returns whether
    /// it wrote a copy.
    @discardableResult
    public func keepWeights(_ config: RunConfig) throws -> Bool {
        guard let store, config.scale == .small, result(for: config) != nil else { return false }
        let kept = "\(store)/weights/\(config.key).h5", local = "\(directory(for: config))/checkpoint.h5"
        let fm = FileManager.default
        guard !fm.fileExists(atPath: kept), fm.fileExists(atPath: local) else { return false }
        let ck = try Checkpoint.load(from: local)
        try fm.createDirectory(atPath: store + "/weights", withIntermediateDirectories: true)
        try Checkpoint(parameters: ck.parameters, epoch: ck.epoch, step: ck.step, configJSON: ck.configJSON).save(to: kept)
        return true
    }
}

/// One run in the results store: what was trained and what it measured.
public struct RunRecord: Codable {
    public var config: RunConfig
    public var result: RunResult

    public static func load(from path: String) -> RunRecord? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(RunRecord.self, from: d)
    }
}
