import Tables
import Training
import Foundation
import XCTest

/// Every spec in tables/ parses and validates; broken specs give errors with file and line.
final class TableSpecTests: XCTestCase {
    var tablesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tables").path
    }

    func testEverySpecValidates() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: tablesDirectory).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertFalse(files.isEmpty)
        for f in files {
            let spec = try TableSpec.load(tablesDirectory + "/" + f)
            XCTAssertEqual(String(format: "table%02d.yaml", spec.table), f, "file name and table number differ")
            XCTAssertNotNil(spec.plan["ci"], "\(f) has no ci plan (the CI regression runs it)")
            XCTAssertNotNil(spec.plan["small"], "\(f) has no small plan")
        }
    }

    func write(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    let valid = """
    table: 99
    title: t
    source: s
    columns:
      - {id: student, header: Student, kind: label}
      - {id: baseline, header: Baseline, kind: run}
    plan:
      ci: {epochs: 1, seeds: 1}
    rows:
      - id: r
        models: {student: resnet-mini}
        runs: {baseline: {method: baseline}}
    """

    func testValidSpecLoads() throws {
        XCTAssertEqual(try TableSpec.load(write(valid)).rows.count, 1)
    }

    func testErrorsNameFileAndLine() {
        let cases: [(String, String, Int)] = [
            (valid.replacingOccurrences(of: "title: t\n", with: ""), "missing key 'title'", 1),
            (valid.replacingOccurrences(of: "kind: run", with: "kind: running"), "invalid value", 6),
            (valid.replacingOccurrences(of: "runs: {baseline:", with: "runs: {nosuch:"), "unknown column 'nosuch'", 12),
            (valid.replacingOccurrences(of: "epochs: 1, seeds: 1", with: "epochs: one, seeds: 1"), "wrong type", 8),
            (valid + "\nclaims:\n  - {id: c, statement: s, kind: greater, cell: r.baseline, than: [x.baseline]}\n", "must be row.column", 14),
        ]
        for (text, message, line) in cases {
            let path = write(text)
            XCTAssertThrowsError(try TableSpec.load(path)) { error in
                let s = "\(error)"
                XCTAssertTrue(s.contains(path), "error does not name the file: \(s)")
                XCTAssertTrue(s.contains(message), "expected '\(message)' in: \(s)")
                XCTAssertTrue(s.contains(":\(line):"), "expected line \(line) in: \(s)")
            }
        }
    }
}
