import Foundation
import Tables
import Training
import XCTest

/// Two invocations of one table split its runs: a run another process holds is passed over
/// for the next free one, not waited for first.
final class TableRunnerTests: XCTestCase {
    // Two seeds of one tiny run.
    let spec = minimalSpec.replacingOccurrences(of: "ci: {epochs: 1, seeds: 1}",
                                                with: "ci: {epochs: 1, seeds: 2, perClass: 5, testPerClass: 5, validationPerClass: 2, batchSize: 10}")

    func testHeldRunIsPassedOverForTheNextOne() throws {
        let dir = NSTemporaryDirectory() + "runner-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try spec.write(toFile: dir + "/table99.yaml", atomically: true, encoding: .utf8)
        let cache = RunCache(root: dir + "/runs")
        let runner = try TableRunner(spec: try TableSpec.load(dir + "/table99.yaml"), scale: .ci, cache: cache,
                                     outputDirectory: dir + "/out", data: try DataCatalog())
        let configs = try runner.configs()
        XCTAssertEqual(configs.count, 2)
        let (held, free) = (configs[0], configs[1])

        let finished = Counter()
        var sawFreeDoneWhileHeld = false
        try cache.withLock(held) {
            let other = Thread {
                _ = try? runner.run()
                _ = finished.increment()
            }
            other.start()
            let deadline = Date().addingTimeInterval(120)
            while cache.result(for: free) == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            sawFreeDoneWhileHeld = cache.result(for: free) != nil
            XCTAssertEqual(finished.value, 0, "the table finished while one of its runs was held")
        }
        XCTAssertTrue(sawFreeDoneWhileHeld, "the runner waited on the held run instead of training the free one")
        // Released: the runner takes the held run too, then writes the table.
        let deadline = Date().addingTimeInterval(120)
        while finished.value == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertNotNil(cache.result(for: held))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/table99.md"))
    }

    /// A temporary folder holding `text` as table99.yaml, and a ci-scale runner of it with its
    /// run cache there; the folder is removed after `body`.
    func withTable(_ text: String, _ body: (TableRunner, _ dir: String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "table-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try text.write(toFile: dir + "/table99.yaml", atomically: true, encoding: .utf8)
        try body(try TableRunner(spec: try TableSpec.load(dir + "/table99.yaml"), scale: .ci, cache: RunCache(root: dir + "/runs"),
                                 outputDirectory: dir + "/out", data: try DataCatalog()), dir)
    }

    /// `run --rows` trains only the named rows' runs; a row the table lacks is named with the rows it has.
    func testRowsSelectOnlyTheirRuns() throws {
        try withTable(spec + """

          - id: other
            models: {student: mobilenet-mini}
            runs: {baseline: {method: baseline}}
        """) { runner, _ in
            XCTAssertEqual(try runner.configs().count, 4)
            let other = try runner.configs(rows: ["other"])
            XCTAssertEqual(other.count, 2)
            XCTAssertEqual(Set(other.map(\.model)), ["mobilenet-mini"])
            XCTAssertThrowsError(try runner.trainRows(["r", "nope"])) {
                XCTAssertTrue("\($0)".contains("no row nope") && "\($0)".contains("r, other"), "\($0)")
            }
        }
    }

    /// `run --dry-run` at small scale reads plannedRuns and workload: a run two rows share
    /// is one run naming both cells, and its work is its steps and evaluation images.
    func testPlannedRunsNameSharedCellsAndTheirWorkload() throws {
        try withTable(spec + """

          - id: same
            models: {student: resnet-mini}
            runs: {baseline: {method: baseline}}
        """) { runner, _ in
            let planned = try runner.plannedRuns()
            XCTAssertEqual(planned.map(\.config.key), try runner.configs().map(\.key))
            XCTAssertEqual(planned.map(\.cells), [["r/baseline seed 0", "same/baseline seed 0"], ["r/baseline seed 1", "same/baseline seed 1"]])
            // 5 images per class x 10 classes, batch 10: 5 steps in the one epoch; validation
            // (2 per class) once and the test split (5 per class) once.
            let work = try runner.workload(of: planned[0].config)
            XCTAssertEqual(work.steps, 5)
            XCTAssertEqual(work.evaluationImages, 20 + 50)
        }
    }

    /// Lengths derived from the subset run's epochs (the recipe's at small scale; the plan's
    /// at ci): a sweep run with sameSteps takes the subset run's optimizer steps, and a
    /// pre-training run with pretrainViewRatio r views (r - 1) x the subset run's samples.
    func testSameStepsAndPretrainViewRatioFollowTheSubsetRun() throws {
        let sweep = minimalSpec.replacingOccurrences(of: "  - {id: baseline, header: Baseline, kind: run}",
                                                     with: "  - {id: baseline, header: Baseline, kind: run}\n  - {id: pre, header: Pre, kind: run}")
            .replacingOccurrences(of: "ci: {epochs: 1, seeds: 1}",
                                                     with: "ci: {epochs: 4, seeds: 1, perClass: 5, testPerClass: 5, validationPerClass: 2, batchSize: 10, pretrainViewRatio: 3}")
            .replacingOccurrences(of: "    runs: {baseline: {method: baseline}}", with: """
                runs:
                  baseline: {method: baseline}
                  pre: {method: baseline, pretrain: true}
              - id: wide
                models: {student: resnet-mini}
                runs: {baseline: {method: baseline, perClass: 10, sameSteps: true}}
            """)
        try withTable(sweep) { runner, dir in
            let spec = runner.spec
            let subset = try runner.config(row: spec.rows[0], column: "baseline", seed: 0)
            let wide = try runner.config(row: spec.rows[1], column: "baseline", seed: 0)
            XCTAssertEqual(subset.epochs, 4)
            XCTAssertEqual(wide.epochs, 2, "twice the images per class: half the epochs, the same steps")
            XCTAssertEqual(try runner.workload(of: wide).steps, try runner.workload(of: subset).steps)
            // At ci the pre-training set stands in as 25 images per class (250): (3 - 1) x 50 x 4 / 250 = 1.6 -> 2 epochs.
            XCTAssertEqual(try runner.config(row: spec.rows[0], column: "pre", seed: 0).epochs, 2)

            let both = sweep.replacingOccurrences(of: "perClass: 10, sameSteps: true", with: "perClass: 10, sameSteps: true, epochs: 3")
            try both.write(toFile: dir + "/table98.yaml", atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TableSpec.load(dir + "/table98.yaml")) { XCTAssertTrue("\($0)".contains("sameSteps"), "\($0)") }
        }
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
}
