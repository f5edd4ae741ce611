import Foundation
import Tables
import Training
import XCTest

/// The claim evaluator's three verdicts (and the one-seed reading) on cases whose answer is
/// known, and the statistics under it against reference values.
final class ClaimsTests: XCTestCase {
    func cells(_ rows: [String: [String: [Double]]]) -> [String: [String: CellValues]] {
        rows.mapValues { $0.mapValues { CellValues(values: $0) } }
    }

    func claim(_ kind: ClaimSpec.Kind, cell: String?, than: [String]) -> ClaimSpec {
        ClaimSpec(id: "c", statement: "s", kind: kind, cell: cell, than: than, source: "Table 3")
    }

    func testStudentTAgainstReferenceValues() {
        // scipy.stats.t.cdf(2.0, 4) = 0.9419417; t.cdf(-1.5, 2) = 0.1361966; t.cdf(0, 7) = 0.5
        XCTAssertEqual(Statistics.studentTCDF(2.0, degreesOfFreedom: 4), 0.9419417, accuracy: 1e-6)
        XCTAssertEqual(Statistics.studentTCDF(-1.5, degreesOfFreedom: 2), 0.1361966, accuracy: 1e-6)
        XCTAssertEqual(Statistics.studentTCDF(0, degreesOfFreedom: 7), 0.5, accuracy: 1e-12)
        // Paired differences 1, 2, 3: t = 2 / (1 / sqrt 3) = 3.4641, df 2 -> p = 0.0370901
        XCTAssertEqual(Statistics.pairedOneSidedP([11, 12, 13], [10, 10, 10])!, 0.0370901, accuracy: 1e-5)
        XCTAssertNil(Statistics.pairedOneSidedP([1], [0]))
    }

    func testHolm() {
        XCTAssertEqual(Statistics.holmRejections([0.01, 0.04, 0.03], alpha: 0.05), [true, false, false])
        XCTAssertEqual(Statistics.holmRejections([0.01, 0.02, 0.012], alpha: 0.05), [true, true, true])
    }

    func testHeldNotHeldInconclusiveAndIndicative() {
        // Consistent gain on every seed: held.
        let gain = cells(["r": ["kd": [81.0, 82.1, 80.9, 81.5, 82.0], "base": [79.0, 80.0, 79.1, 79.4, 80.2]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.greater, cell: "r.kd", than: ["r.base"]), cells: gain, rows: ["r"]).verdict, .held)
        // A consistent loss: not held (the data contradict the claim).
        let loss = cells(["r": ["kd": [78.0, 78.9, 78.2, 78.4, 79.0], "base": [79.0, 80.0, 79.1, 79.4, 80.2]]])
        let lost = ClaimEvaluator.evaluate(claim(.greater, cell: "r.kd", than: ["r.base"]), cells: loss, rows: ["r"])
        XCTAssertEqual(lost.verdict, .notHeld)
        XCTAssertTrue(lost.evidence.contains("contradicted"))
        // Differences of both signs: inconclusive.
        let noise = cells(["r": ["kd": [80.0, 79.0, 81.0], "base": [79.0, 80.5, 80.0]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.greater, cell: "r.kd", than: ["r.base"]), cells: noise, rows: ["r"]).verdict, .inconclusive)
        // One seed never yields held or not held.
        let one = cells(["r": ["kd": [90.0], "base": [10.0]]])
        let single = ClaimEvaluator.evaluate(claim(.greater, cell: "r.kd", than: ["r.base"]), cells: one, rows: ["r"])
        XCTAssertEqual(single.verdict, .indicative)
        XCTAssertEqual(single.seeds, 1)
        XCTAssertNil(single.p)
        // A missing cell: not testable.
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.greater, cell: "r.kd", than: ["r.dkd"]), cells: gain, rows: ["r"]).verdict, .notTestable)
    }

    func testAllRowsNeedsEveryRowAfterHolm() {
        // Each row alone passes at 0.05 (p ~ 0.0371), but Holm over two rows needs p < 0.025.
        let marginal = cells(["a": ["s": [11, 12, 13], "b": [10, 10, 10]], "c": ["s": [11, 12, 13], "b": [10, 10, 10]]])
        let r = ClaimEvaluator.evaluate(claim(.allRows, cell: "s", than: ["b"]), cells: marginal, rows: ["a", "c"])
        XCTAssertEqual(r.verdict, .inconclusive)
        XCTAssertEqual(r.p!, 2 * 0.0370901, accuracy: 1e-4)
        // Clear gains on both rows: held.
        let clear = cells(["a": ["s": [12, 12.1, 12.2, 11.9], "b": [10, 10.05, 10.1, 10]], "c": ["s": [15, 15.2, 15.1, 15.3], "b": [10, 10.1, 10, 10.2]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.allRows, cell: "s", than: ["b"]), cells: clear, rows: ["a", "c"]).verdict, .held)
        // One row clearly against: not held, whatever the others do.
        let against = cells(["a": ["s": [12, 12.1, 12.2, 11.9], "b": [10, 10.05, 10.1, 10]], "c": ["s": [5, 5.2, 5.1, 5.3], "b": [10, 10.1, 10, 10.2]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.allRows, cell: "s", than: ["b"]), cells: against, rows: ["a", "c"]).verdict, .notHeld)
    }

    /// mean_rows tests the per-seed mean over rows: a row that loses is outweighed by rows
    /// that gain (held where all_rows is not), and a mean loss is not held.
    func testMeanOverRows() {
        let mixed = cells(["a": ["s": [14, 14.2, 13.9], "b": [10, 10.1, 10]], "c": ["s": [9, 9.1, 8.9], "b": [10, 10.1, 10]]])
        let mean = ClaimEvaluator.evaluate(claim(.meanRows, cell: "s", than: ["b"]), cells: mixed, rows: ["a", "c"])
        XCTAssertEqual(mean.verdict, .held, mean.evidence)
        XCTAssertTrue(mean.evidence.contains("mean of s over 2 rows"), mean.evidence)
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.allRows, cell: "s", than: ["b"]), cells: mixed, rows: ["a", "c"]).verdict, .notHeld)
        let down = cells(["a": ["s": [8, 8.2, 7.9], "b": [10, 10.1, 10]], "c": ["s": [9, 9.1, 8.9], "b": [10, 10.1, 10]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.meanRows, cell: "s", than: ["b"]), cells: down, rows: ["a", "c"]).verdict, .notHeld)
        // Rows with different seed counts cannot be averaged per seed.
        let ragged = cells(["a": ["s": [14, 14.2], "b": [10, 10.1]], "c": ["s": [9, 9.1, 8.9], "b": [10, 10.1, 10]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.meanRows, cell: "s", than: ["b"]), cells: ragged, rows: ["a", "c"]).verdict, .notTestable)
    }

    func testIncreasingChain() {
        let up = cells(["s": ["d": [1, 1.1, 0.9, 1.05]], "b": ["d": [2, 2.1, 1.95, 2.05]], "l": ["d": [3, 3.1, 3.05, 2.95]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.increasing, cell: nil, than: ["s.d", "b.d", "l.d"]), cells: up, rows: []).verdict, .held)
        let down = cells(["s": ["d": [3, 3.1, 3.05, 2.95]], "b": ["d": [2, 2.1, 1.95, 2.05]], "l": ["d": [1, 1.1, 0.9, 1.05]]])
        XCTAssertEqual(ClaimEvaluator.evaluate(claim(.increasing, cell: nil, than: ["s.d", "b.d", "l.d"]), cells: down, rows: []).verdict, .notHeld)
    }
}

/// REPORT.md judges claims again from the stored per-seed cells: a verdict written by an
/// older evaluator (one seed called "held") must not reach the report.
final class ReportReevaluationTests: XCTestCase {
    func testStoredVerdictIsJudgedAgainFromCells() throws {
        let text = minimalSpec
            .replacingOccurrences(of: "  - {id: baseline, header: Baseline, kind: run}",
                                  with: "  - {id: baseline, header: Baseline, kind: run}\n  - {id: again, header: Again, kind: run}")
            .replacingOccurrences(of: "runs: {baseline: {method: baseline}}",
                                  with: "runs: {baseline: {method: baseline}, again: {method: baseline}}")
            + "\nclaims:\n  - {id: c, statement: s, kind: greater, cell: r.again, than: [r.baseline], source: suite expectation}\n"
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let spec = try TableSpec.load(path)
        let stale = ClaimResult(id: "c", statement: "s", verdict: .held, evidence: "old rule")
        let stored = TableResult(table: 99, title: "t", scale: .ci, seeds: 1,
                                 cells: ["r": ["again": CellValues(values: [80]), "baseline": CellValues(values: [70])]],
                                 runKeys: [:], claims: [stale], wallSeconds: 0, environment: [:])
        let judged = Report.reevaluated(stored, spec: spec)
        XCTAssertEqual(judged.claims.map(\.verdict), [.indicative])
        XCTAssertFalse(judged.claims[0].isPaperClaim)
        // The report's first screen names the table, its seeds and the recount, and lists no
        // claim as held: the stale verdict is gone.
        let summary = Report.summary([judged])
        XCTAssertTrue(summary.contains("ci scale: Tables 99 (1 seed)"), summary)
        XCTAssertTrue(summary.contains("Suite expectations (1): 0 held, 0 not held, 0 inconclusive, 1 indicative (1 seed)"), summary)
        XCTAssertFalse(summary.contains("Held:"), summary)
    }
}
