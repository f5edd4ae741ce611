import Training
import Foundation
import Store
import XCTest

/// Two trainers of the same run at once: the lock serialises them, and the one that waited
/// takes the first one's result instead of training again.
final class RunCacheTests: XCTestCase {
    /// An empty run cache in a fresh temporary directory, and a run config for it.
    func emptyCache() -> (RunCache, RunConfig) {
        let root = NSTemporaryDirectory() + "runcache-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        let config = RunConfig(model: "tiny", split: DataSplit(train: .student, perClass: 1),
                               strategy: .traditional, epochs: 1, batchSize: 1, seed: 0, scale: .ci)
        return (RunCache(root: root), config)
    }

    func testConcurrentCallersTrainOnce() throws {
        let (cache, config) = emptyCache()
        let trainings = Counter(), overlap = Counter(), inside = Counter()
        func train() throws -> RunResult {
            if inside.increment() > 1 { _ = overlap.increment() }
            defer { inside.decrement() }
            _ = trainings.increment()
            Thread.sleep(forTimeInterval: 0.3)
            let r = RunResult(key: config.key, top1: 50, top5: 90, testImages: 1, trainImages: 1, epochs: 1, steps: 1,
                              wallSeconds: 0.3, imagesPerSecond: 1, finalLosses: [:])
            try AtomicWrite.write(try JSONEncoder().encode(r), to: cache.directory(for: config) + "/result.json")
            return r
        }
        var results = [Double?](repeating: nil, count: 4)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let r = try? cache.resultOrTrain(config, train) ?? nil
            lock.lock(); results[i] = r?.top1; lock.unlock()
        }
        XCTAssertEqual(trainings.value, 1, "the run was trained more than once")
        XCTAssertEqual(overlap.value, 0, "two callers were inside the lock at once")
        XCTAssertEqual(results, [50, 50, 50, 50])
    }

    /// A `--jobs` worker skips a run another process holds instead of waiting for it, and
    /// takes its result once it is written.
    func testBusyRunIsSkippedNotAwaited() throws {
        let (cache, config) = emptyCache()
        let r = RunResult(key: config.key, top1: 42, top5: 90, testImages: 1, trainImages: 1, epochs: 1, steps: 1,
                          wallSeconds: 0, imagesPerSecond: 1, finalLosses: [:])
        let returned = Counter(), trainedHeld = Counter(), skippedTop1 = Counter()
        try cache.withLock(config) {
            let other = Thread {
                let got = try? cache.resultOrTrain(config, wait: false) { _ = trainedHeld.increment(); return r }
                if got != nil { _ = skippedTop1.increment() }
                _ = returned.increment()
            }
            other.start()
            let deadline = Date().addingTimeInterval(10)
            while returned.value == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            try AtomicWrite.write(try JSONEncoder().encode(r), to: cache.directory(for: config) + "/result.json")
        }
        XCTAssertEqual(returned.value, 1, "the second caller waited for the held run instead of skipping it")
        XCTAssertEqual(trainedHeld.value, 0, "trained a run another process holds")
        XCTAssertEqual(skippedTop1.value, 0, "a held run must give no result")
        XCTAssertEqual(try cache.resultOrTrain(config, wait: false) { XCTFail("trained a finished run"); return r }?.top1, 42)
    }

    /// A run whose weights a later step needs keeps a parameters-only copy in the results
    /// store; another machine (no run cache) reads that copy, and with neither the error
    /// names the run and the fix.
    func testNeededWeightsAreKeptInTheStore() throws {
        let root = NSTemporaryDirectory() + "keepweights-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/results", withIntermediateDirectories: true)
        let cache = RunCache(root: root + "/runs", store: root + "/results")
        let config = RunConfig(model: "tiny", split: DataSplit(train: .student, perClass: 1),
                               strategy: .traditional, epochs: 1, batchSize: 1, seed: 0, scale: .small)
        let dir = cache.directory(for: config)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let weights = ["student.w": NamedArray(shape: [2], values: [1, 2])]
        try Checkpoint(parameters: weights, optimizerState: ["student.w.m": NamedArray(shape: [2], values: [3, 4])],
                       epoch: 1, step: 1, configJSON: "{}").save(to: dir + "/checkpoint.h5")
        XCTAssertFalse(try cache.keepWeights(config), "kept the weights of an unfinished run")
        let r = RunResult(key: config.key, top1: 42, top5: 90, testImages: 1, trainImages: 1, epochs: 1, steps: 1,
                          wallSeconds: 0, imagesPerSecond: 1, finalLosses: [:])
        try cache.record(config, r)
        XCTAssertTrue(try cache.keepWeights(config))
        XCTAssertFalse(try cache.keepWeights(config), "copied twice")
        let kept = try Checkpoint.load(from: root + "/results/weights/\(config.key).h5")
        XCTAssertEqual(kept.parameters, weights)
        XCTAssertTrue(kept.optimizerState.isEmpty, "the store's copy carries optimizer state")

        try FileManager.default.removeItem(atPath: root + "/runs")  // another machine: records and weights from git only
        XCTAssertEqual(cache.weightsPath(key: config.key), root + "/results/weights/\(config.key).h5")
        XCTAssertEqual(try cache.finalWeights(key: config.key).parameters, weights)
        try FileManager.default.removeItem(atPath: root + "/results/weights")
        XCTAssertThrowsError(try cache.finalWeights(key: config.key)) {
            XCTAssertTrue("\($0)".contains("delete results/\(config.key).json"), "\($0)")
        }
    }
}

/// A thread-safe counter for the test above.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    func decrement() { lock.lock(); count -= 1; lock.unlock() }
}
