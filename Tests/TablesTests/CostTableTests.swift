import Foundation
import Tables
import Training
import XCTest

/// Table 15's cost cells: step columns are timed (not trained), peak memory and seconds per
/// epoch read the same measurement, and the CI regression checks them for presence only.
final class CostTableTests: XCTestCase {
    let specText = """
        table: 97
        title: t
        source: s
        columns:
          - {id: method, header: Method, kind: label}
          - {id: memory, header: Memory, kind: peak_memory, role: step}
          - {id: epoch, header: Epoch, kind: epoch_seconds, role: step}
          - {id: step, header: Step, kind: step}
        plan:
          ci: {epochs: 1, seeds: 1, batchSize: 10, perClass: 5, testPerClass: 5, validationPerClass: 2, timedSteps: 2}
        rows:
          - id: fd
            labels: {method: FD}
            models: {teacher: swin-mini-s, student: resnet-mini}
            runs: {step: {method: fd}}
          - id: fd-again
            labels: {method: FD}
            models: {teacher: swin-mini-s, student: resnet-mini}
            runs: {step: {method: fd}}
        """

    func load(_ text: String, in dir: String) throws -> TableSpec {
        try text.write(toFile: dir + "/table97.yaml", atomically: true, encoding: .utf8)
        return try TableSpec.load(dir + "/table97.yaml")
    }

    func testStepsAreTimedOnceNotTrainedAndFillTheirColumns() throws {
        let dir = NSTemporaryDirectory() + "cost-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = try TableRunner(spec: try load(specText, in: dir), scale: .ci, cache: RunCache(root: dir + "/runs"),
                                     outputDirectory: dir + "/out", data: try DataCatalog())
        XCTAssertTrue(try runner.configs().isEmpty, "a step column was scheduled for training")
        XCTAssertThrowsError(try runner.run()) { XCTAssertTrue("\($0)".contains("scalekd run table97"), "\($0)") }
        var calls: [(String, Int)] = []
        runner.measureStep = { config, timed in
            calls.append((config.method?.name.rawValue ?? "", timed))
            return (0.5, 300)
        }
        let result = try runner.run()
        XCTAssertEqual(calls.count, 1, "identical configurations must be timed once")
        XCTAssertEqual(calls.first?.0, "fd")
        XCTAssertEqual(calls.first?.1, 2, "the plan's timedSteps")
        // 5 images x 10 classes / batch 10 = 5 steps per epoch.
        for row in ["fd", "fd-again"] {
            XCTAssertEqual(result.cells[row]?["step"]?.values, [0.5])
            XCTAssertEqual(result.cells[row]?["memory"]?.values, [300])
            XCTAssertEqual(result.cells[row]?["epoch"]?.values, [2.5])
        }
        let md = try String(contentsOfFile: dir + "/out/table97.md", encoding: .utf8)
        XCTAssertTrue(md.contains("Measured on this machine: CPU"), md)
        XCTAssertTrue(md.contains("| FD | unknown | 300 MiB | unknown | 2.5 s | unknown | 0.500 s |"), md)
    }

    func testCostColumnsAreValidated() throws {
        let dir = NSTemporaryDirectory() + "cost-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try load(specText.replacingOccurrences(of: "kind: peak_memory, role: step", with: "kind: peak_memory, role: method"), in: dir)) {
            XCTAssertTrue("\($0)".contains("peak_memory column 'memory' needs a role naming a step column"), "\($0)")
        }
        XCTAssertThrowsError(try load(specText.replacingOccurrences(of: "timedSteps: 2", with: "timedSteps: 0"), in: dir)) {
            XCTAssertTrue("\($0)".contains("timedSteps must be at least 1"), "\($0)")
        }
    }

    /// `scalekd check` on a cost table: every expected cell measured and positive, any value.
    func testRegressionChecksPresenceAndSignOnly() throws {
        let dir = NSTemporaryDirectory() + "cost-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let check = RegressionCheck(spec: try load(specText, in: dir))
        func result(_ step: Double?, memory: Double = 300) -> TableResult {
            var cells: [String: CellValues] = ["memory": CellValues(values: [memory])]
            if let step { cells["step"] = CellValues(values: [step]); cells["epoch"] = CellValues(values: [step * 5]) }
            return TableResult(table: 97, title: "t", scale: .ci, seeds: 1, cells: ["fd": cells], runKeys: [:], claims: [],
                               wallSeconds: 1, environment: [:])
        }
        let expected = result(0.5)
        XCTAssertEqual(check.mismatches(actual: result(40, memory: 9000), expected: expected), [], "timings must not be compared")
        XCTAssertEqual(check.mismatches(actual: result(nil), expected: expected),
                       ["fd.epoch: no result (expected 2.50)", "fd.step: no result (expected 0.50)"])
        XCTAssertEqual(check.mismatches(actual: result(0.5, memory: 0), expected: expected), ["fd.memory: measured 0.00, not a positive cost"])
        XCTAssertEqual(check.mismatches(actual: result(.nan), expected: expected).count, 2)
    }
}
