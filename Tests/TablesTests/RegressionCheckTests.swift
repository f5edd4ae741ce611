import Tables
import Training
import Foundation
import XCTest

/// The CI regression's comparison: trained cells within tolerance, counts exact, missing
/// cells reported; and every ci table has a committed expected result to compare with.
final class RegressionCheckTests: XCTestCase {
    var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func spec() throws -> TableSpec {
        let path = NSTemporaryDirectory() + "regression-\(UUID().uuidString).yaml"
        try """
        table: 98
        title: t
        source: s
        columns:
          - {id: student, header: Student, kind: label}
          - {id: params_s, header: Params, kind: params, role: student}
          - {id: baseline, header: Baseline, kind: run}
          - {id: kd, header: KD, kind: run}
          - {id: delta, header: Delta, kind: derived, formula: kd - baseline}
        plan:
          ci: {epochs: 1, seeds: 1}
        rows:
          - id: r
            models: {student: resnet-mini, teacher: swin-mini-s}
            runs: {baseline: {method: baseline}, kd: {method: kd}}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try TableSpec.load(path)
    }

    func result(baseline: Double, kd: Double?, params: Double = 0.3) -> TableResult {
        var cells: [String: CellValues] = ["baseline": CellValues(values: [baseline]), "params_s": CellValues(values: [params])]
        if let kd { cells["kd"] = CellValues(values: [kd]); cells["delta"] = CellValues(values: [kd - baseline]) }
        return TableResult(table: 98, title: "t", scale: .ci, seeds: 1, cells: ["r": cells], runKeys: [:], claims: [],
                           wallSeconds: 1, environment: [:])
    }

    func testToleranceCountsAndMissingCells() throws {
        let check = RegressionCheck(spec: try spec(), tolerance: 5)
        let expected = result(baseline: 40, kd: 45)
        XCTAssertEqual(check.mismatches(actual: expected, expected: expected), [])
        XCTAssertEqual(check.mismatches(actual: result(baseline: 44.9, kd: 41), expected: expected), [])
        let moved = check.mismatches(actual: result(baseline: 40, kd: 39.9), expected: expected)
        XCTAssertEqual(moved.count, 1)
        XCTAssertTrue(moved[0].hasPrefix("r.kd:"), moved[0])
        XCTAssertEqual(check.mismatches(actual: result(baseline: 40, kd: 45, params: 0.31), expected: expected).count, 1)
        XCTAssertEqual(check.mismatches(actual: result(baseline: 40, kd: nil), expected: expected), ["r.kd: no result (expected 45.00)"])
        XCTAssertEqual(check.mismatches(actual: result(baseline: .nan, kd: 45), expected: expected).count, 1)
        // A cell the expectations do not have (a row or column added since) is reported, not passed over.
        XCTAssertEqual(check.mismatches(actual: expected, expected: result(baseline: 40, kd: nil)),
                       ["r.kd: 45.00 has no expected value (new row or column: regenerate with make ci-expected)"])
    }

    /// Every table the CI regression runs (Makefile CI_TABLES) has tables/expected/tableNN.json.
    func testEveryCITableHasAnExpectedResult() throws {
        let makefile = try String(contentsOf: root.appendingPathComponent("Makefile"), encoding: .utf8)
        guard let line = makefile.split(separator: "\n").first(where: { $0.hasPrefix("CI_TABLES :=") }) else {
            return XCTFail("Makefile has no CI_TABLES")
        }
        let numbers = line.split(separator: "=")[1].split(separator: " ").compactMap { Int($0) }
        XCTAssertFalse(numbers.isEmpty)
        for n in numbers {
            let path = root.appendingPathComponent(String(format: "tables/expected/table%02d.json", n)).path
            let r = try RegressionCheck.load(path)
            XCTAssertEqual(r.scale, .ci, path)
            XCTAssertEqual(r.table, n, path)
        }
    }
}
