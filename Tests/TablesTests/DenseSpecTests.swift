import DenseTransfer
import Foundation
import Tables
import XCTest

/// Dense columns (Tables 5, 6) and dense settings (Table 11) in specs.
final class DenseSpecTests: XCTestCase {
    var tablesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tables").path
    }

    func write(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "dense-spec-\(UUID().uuidString).yaml"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    let valid = minimalSpec
        .replacingOccurrences(of: "  - {id: baseline, header: Baseline, kind: run}\n",
                              with: "  - {id: baseline, header: Baseline, kind: run}\n  - {id: ap, header: AP, kind: dense, role: baseline, metric: box_ap}\n")
        + "\ndense:\n  ci: {backbone: frozen, trainCanvases: 8, validationCanvases: 4, testCanvases: 4, epochs: 1, batchSize: 4, learningRate: 0.01}\n"

    func testDenseColumnsValidate() throws {
        XCTAssertEqual(try TableSpec.load(write(valid)).dense?["ci"]?.trainCanvases, 8)
        let cases: [(String, String)] = [
            (valid.replacingOccurrences(of: "metric: box_ap", with: "metric: box_apx"), "metric 'box_apx' is not one of"),
            (valid.replacingOccurrences(of: "role: baseline, metric", with: "role: nosuch, metric"), "needs a role naming the run column"),
            (valid.replacingOccurrences(of: "backbone: frozen", with: "backbone: thawed"), "backbone must be frozen or finetune"),
            (valid.replacingOccurrences(of: "learningRate: 0.01}", with: "learningRate: 0.01, objectSide: [8, 40]}"), "exceeds the 32-pixel canvas"),
            (valid.replacingOccurrences(of: "learningRate: 0.01}", with: "learningRate: 0.01, hiden: 8}"), "unknown key 'hiden'"),
            (String(valid.prefix(upTo: valid.range(of: "dense:\n")!.lowerBound)), "no dense settings for scale 'ci'"),
        ]
        for (text, message) in cases {
            let path = write(text)
            XCTAssertThrowsError(try TableSpec.load(path)) { error in
                XCTAssertTrue("\(error)".contains(message), "expected '\(message)' in: \(error)")
                XCTAssertTrue("\(error)".contains(path), "error does not name the file: \(error)")
            }
        }
    }

    /// Tables 5 and 6 share Table 3's rows and plans (so its run keys) and one set of dense
    /// settings (so their shared transfers are one cached run each); Table 11 lists every setting.
    func testCommittedDenseSpecs() throws {
        let t3 = try TableSpec.load(tablesDirectory + "/table03.yaml")
        let t5 = try TableSpec.load(tablesDirectory + "/table05.yaml"), t6 = try TableSpec.load(tablesDirectory + "/table06.yaml")
        for spec in [t5, t6] {
            for scale in ["ci", "small"] {
                let (a, b) = (spec.plan[scale]!, t3.plan[scale]!)
                XCTAssertEqual([a.epochs, a.seeds, a.batchSize, a.perClass, a.testPerClass], [b.epochs, b.seeds, b.batchSize, b.perClass, b.testPerClass],
                               "table \(spec.table) \(scale) plan differs from Table 3's: the backbones would be new runs")
            }
            for row in spec.rows {
                let same = t3.rows.first { $0.models == row.models }
                XCTAssertNotNil(same, "table \(spec.table) row \(row.id) is no Table 3 row")
                XCTAssertEqual(row.runs?.keys.sorted(), ["baseline", "scalekd"])
            }
        }
        XCTAssertEqual(t5.dense, t6.dense)
        XCTAssertEqual(t5.columns.filter { $0.detail == true }.count, 12, "AP_S/M/L go to the detail table")
        let t11 = try TableSpec.load(tablesDirectory + "/table11.yaml")
        XCTAssertEqual(t11.rows.map(\.id), DenseSettings.settingNames)
        for name in DenseSettings.settingNames { XCTAssertFalse(t5.dense!["small"]!.setting(name).hasPrefix("unknown setting")) }
    }
}
