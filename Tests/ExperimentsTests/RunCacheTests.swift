import Experiments
import Foundation
import XCTest

/// Two trainers of the same run at once: the lock serialises them, and the one that waited
/// takes the first one's result instead of training again.
final class RunCacheTests: XCTestCase {
    func testConcurrentCallersTrainOnce() throws {
        let root = NSTemporaryDirectory() + "runcache-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = RunCache(root: root)
        let config = RunConfig(model: "tiny", split: DataSplit(train: .student, perClass: 1),
                               strategy: .traditional, epochs: 1, batchSize: 1, seed: 0, scale: "ci")
        let trainings = Counter(), overlap = Counter(), inside = Counter()
        func train() throws -> RunResult {
            if inside.increment() > 1 { _ = overlap.increment() }
            defer { inside.decrement() }
            _ = trainings.increment()
            Thread.sleep(forTimeInterval: 0.3)
            let r = RunResult(key: config.key, top1: 50, top5: 90, testImages: 1, trainImages: 1, epochs: 1, steps: 1,
                              wallSeconds: 0.3, imagesPerSecond: 1, finalLosses: [:])
            try writeAtomically(try JSONEncoder().encode(r), to: cache.directory(for: config) + "/result.json")
            return r
        }
        var results = [Double?](repeating: nil, count: 4)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let r = try? cache.resultOrTrain(config, train)
            lock.lock(); results[i] = r?.top1; lock.unlock()
        }
        XCTAssertEqual(trainings.value, 1, "the run was trained more than once")
        XCTAssertEqual(overlap.value, 0, "two callers were inside the lock at once")
        XCTAssertEqual(results, [50, 50, 50, 50])
    }
}

/// A thread-safe counter for the test above.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    func decrement() { lock.lock(); value -= 1; lock.unlock() }
}
