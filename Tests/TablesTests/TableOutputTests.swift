import Foundation
import Tables
import Training
import XCTest

/// A table's markdown opens with our trained cells alone; the paper's column appears there
/// only where the paper gives a value, and the full paper-beside-ours grid follows.
final class TableOutputTests: XCTestCase {
    func testCompactTableShowsPaperColumnsOnlyWhereKnown() throws {
        let text = minimalSpec
            .replacingOccurrences(of: "  - {id: baseline, header: Baseline, kind: run}",
                                  with: "  - {id: baseline, header: Baseline, kind: run}\n  - {id: kd, header: KD, kind: run}")
            .replacingOccurrences(of: "    runs: {baseline: {method: baseline}}",
                                  with: "    paper: {kd: 81.5}\n    runs: {baseline: {method: baseline}, kd: {method: baseline}}")
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let spec = try TableSpec.load(path)
        let result = TableResult(table: 99, title: "t", scale: .ci, seeds: 2,
                                 cells: ["r": ["baseline": CellValues(values: [70, 72]), "kd": CellValues(values: [80, 82])]],
                                 runKeys: [:], claims: [], wallSeconds: 0, environment: [:])
        let md = TableOutput(spec: spec, result: result, directory: NSTemporaryDirectory(), teacherRecords: []).markdown()
        let lines = md.split(separator: "\n").map(String.init)
        let compactHeader = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("| Student |") })
        XCTAssertEqual(lines[compactHeader], "| Student | Baseline | KD (paper) | KD |")
        XCTAssertEqual(lines[compactHeader + 2], "| resnet-mini | 71.00 ± 1.41 | 81.50 | 81.00 ± 1.41 |")
        // The full grid comes after it, with a paper column for every trained column.
        let full = try XCTUnwrap(lines.firstIndex { $0 == "## Paper beside ours, every column" })
        XCTAssertGreaterThan(full, compactHeader)
        XCTAssertTrue(lines[(full + 1)...].contains { $0.contains("Baseline (paper) | Baseline (ours)") })
    }
}
