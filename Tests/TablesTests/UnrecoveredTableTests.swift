import Foundation
import Tables
import Training
import XCTest

/// Tables 8, 12, 13 and 14, whose content no source we reach has: their specs load, a run of
/// one says so in its output and succeeds, and a user with the paper can fill one in as data.
final class UnrecoveredTableTests: XCTestCase {
    var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "unrecovered-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func testUnrecoveredSpecsLoadAndSaySo() throws {
        for n in [8, 12, 13, 14] {
            let spec = try TableSpec.load(root.appendingPathComponent(String(format: "tables/table%02d.yaml", n)).path)
            XCTAssertEqual(spec.table, n)
            XCTAssertNotNil(spec.unrecovered, "table \(n)")
            XCTAssertFalse(spec.hasRunsOrSteps, "table \(n) would train or measure something")
            XCTAssertTrue(spec.rows.allSatisfy { ($0.paper ?? [:]).isEmpty }, "table \(n) shows a paper number")
        }
    }

    /// What `make table8` does: the runner (no plan, nothing trained) writes a markdown and a
    /// JSON result that say the content is not recovered.
    func testRunWritesTheMessageAndSucceeds() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try TableSpec.load(root.appendingPathComponent("tables/table08.yaml").path)
        let runner = try TableRunner(spec: spec, scale: .small, cache: RunCache(root: dir + "/runs"), outputDirectory: dir + "/out",
                                     data: try DataCatalog())
        let result = try runner.run()
        XCTAssertEqual(result.unrecovered, spec.unrecovered)
        XCTAssertTrue(result.runKeys.isEmpty)
        let md = try String(contentsOfFile: dir + "/out/table08.md", encoding: .utf8)
        XCTAssertTrue(md.contains("**Content not recovered.**"), md)
        XCTAssertTrue(md.contains("page 7"), "the page guess is missing: \(md)")
        XCTAssertFalse(md.contains("| --"), "an empty table was drawn: \(md)")
        let json = try RegressionCheck.load(dir + "/out/table08.json")
        XCTAssertEqual(json.unrecovered, spec.unrecovered)
    }

    /// Filling in from the paper needs no code: paper columns and rows with `models: {}`.
    func testFilledInSpecShowsThePaperNumbers() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOf: root.appendingPathComponent("tables/table08.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "columns: []", with: """
                columns:
                  - {id: setting, header: Setting, kind: label}
                  - {id: top1, header: Top-1, kind: paper}
                """)
            .replacingOccurrences(of: "rows: []", with: """
                rows:
                  - {id: a, labels: {setting: first}, paper: {top1: 81.25}, models: {}}
                """)
        try text.write(toFile: dir + "/table08.yaml", atomically: true, encoding: .utf8)
        let spec = try TableSpec.load(dir + "/table08.yaml")
        let runner = try TableRunner(spec: spec, scale: .small, cache: RunCache(root: dir + "/runs"), outputDirectory: dir + "/out",
                                     data: try DataCatalog())
        try runner.run()
        let md = try String(contentsOfFile: dir + "/out/table08.md", encoding: .utf8)
        XCTAssertTrue(md.contains("| Setting | Top-1 (paper) |"), md)
        XCTAssertTrue(md.contains("| first | 81.25 |"), md)
    }
}
