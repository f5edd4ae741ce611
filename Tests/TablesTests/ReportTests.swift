import Foundation
import Tables
import Training
import XCTest

/// REPORT.md flags a table assembled from runs that its spec, recipes and teachers no longer configure.
final class ReportTests: XCTestCase {
    func testOutdatedRunsAreCounted() throws {
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try minimalSpec.replacingOccurrences(of: "ci: {epochs: 1, seeds: 1}", with: "ci: {epochs: 1, seeds: 2}")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let spec = try TableSpec.load(path)
        let data = try DataCatalog()
        let keys = try TableRunner(spec: spec, scale: .ci, seeds: 2, data: data).configs().map(\.key)
        XCTAssertEqual(keys.count, 2)
        func stored(_ keys: [String]) -> TableResult {
            TableResult(table: 99, title: "t", scale: .ci, seeds: 2, cells: [:], runKeys: ["r": ["baseline": keys]], claims: [],
                        wallSeconds: 0, environment: [:])
        }
        XCTAssertEqual(try Report.outdatedRuns(stored(keys), spec: spec, data: data).stale, 0)
        // One seed's run was trained under another configuration (say, an older recipe).
        let mixed = try Report.outdatedRuns(stored([keys[0], "0123456789abcdef"]), spec: spec, data: data)
        XCTAssertEqual(mixed.stale, 1)
        XCTAssertEqual(mixed.total, 2)
    }
}
