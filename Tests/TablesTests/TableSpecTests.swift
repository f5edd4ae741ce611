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
        let files = try FileManager.default.contentsOfDirectory(atPath: tablesDirectory)
            .filter { $0.hasPrefix("table") && $0.hasSuffix(".yaml") }.sorted()
        XCTAssertFalse(files.isEmpty)
        for f in files {
            let spec = try TableSpec.load(tablesDirectory + "/" + f)
            XCTAssertEqual(String(format: "table%02d.yaml", spec.table), f, "file name and table number differ")
            // A table that trains or times nothing (content not recovered) needs no plan.
            guard spec.hasRunsOrSteps else { continue }
            XCTAssertNotNil(spec.plan["ci"], "\(f) has no ci plan (the CI regression runs it)")
            XCTAssertNotNil(spec.plan["small"], "\(f) has no small plan")
        }
    }

    /// The design names every paper table 1-16 as a target: each has a spec (one whose
    /// content is not recovered says so in `unrecovered`).
    func testEveryPaperTableHasASpec() throws {
        let missing = (1...16).filter { !FileManager.default.fileExists(atPath: tablesDirectory + String(format: "/table%02d.yaml", $0)) }
        XCTAssertEqual(missing, [], "tables without a spec in tables/")
    }

    func write(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    let valid = minimalSpec

    var withTeacher: String { valid.replacingOccurrences(of: "{student: resnet-mini}", with: "{student: resnet-mini, teacher: swin-mini-l}") }

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
            // Misspelt keys at every level are errors, not silently ignored settings.
            (valid.replacingOccurrences(of: "source: s\n", with: "source: s\nsorce: s\n"), "unknown key 'sorce'", 4),
            (valid.replacingOccurrences(of: "epochs: 1, seeds: 1", with: "epochs: 1, seeds: 1, batchsize: 8"), "unknown key 'batchsize' in plan.ci", 8),
            (valid.replacingOccurrences(of: "{method: baseline}", with: "{method: baseline, epoch: 3}"), "unknown key 'epoch' in rows.0.runs.baseline", 12),
            (valid.replacingOccurrences(of: "kind: run}", with: "kind: run, rol: x}"), "unknown key 'rol' in columns.1", 6),
            (withTeacher.replacingOccurrences(of: "{method: baseline}", with: "{method: kd, options: {alpha_spacial: 1}}"), "unknown key 'alpha_spacial'", 12),
            (withTeacher.replacingOccurrences(of: "{method: baseline}", with: "{method: scalekd, flags: {dfn: false}}"), "unknown key 'dfn'", 12),
            // Closed sets and ranges.
            (valid.replacingOccurrences(of: "{method: baseline}", with: "{method: scalekdd}"), "unknown method 'scalekdd' (methods: baseline, kd", 12),
            (valid.replacingOccurrences(of: "{student: resnet-mini}", with: "{student: resnet-maxi}"), "unknown student model 'resnet-maxi'", 12),
            (valid.replacingOccurrences(of: "{student: resnet-mini}", with: "{student: resnet-mini, teacher: vit-mini-s}")
                .replacingOccurrences(of: "{method: baseline}", with: "{method: kd}"), "'vit-mini-s' cannot be a teacher", 12),
            (valid.replacingOccurrences(of: "epochs: 1, seeds: 1", with: "epochs: -1, seeds: 1"), "epochs must be at least 1 (got -1)", 8),
            (valid.replacingOccurrences(of: "epochs: 1, seeds: 1", with: "epochs: 1, seeds: 1, batchSize: 0"), "batchSize must be at least 1 (got 0)", 8),
            (withTeacher.replacingOccurrences(of: "{method: baseline}", with: "{method: scalekd, options: {beta: 2}}"), "beta must be in [0, 1]", 12),
            // YAML syntax errors give the line the parser stopped at.
            (valid.replacingOccurrences(of: "  ci: {epochs: 1, seeds: 1}", with: "  ci: {epochs: 1, seeds: 1"), "not valid YAML", 9),
            (valid.replacingOccurrences(of: "title: t", with: "title: t: u"), "not valid YAML", 2),
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

    /// A spec whose table number is not its file's would overwrite another table's outputs.
    func testTableNumberMustMatchFileName() throws {
        let dir = NSTemporaryDirectory() + "specs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/table08.yaml"
        try valid.replacingOccurrences(of: "table: 99", with: "table: 3").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TableSpec.load(path)) { error in
            XCTAssertTrue("\(error)".contains("the spec says table 3 but the file is table08.yaml"), "\(error)")
            XCTAssertTrue("\(error)".contains(path + ":1:"), "\(error)")
        }
        try valid.write(toFile: dir + "/table99.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try TableSpec.load(dir + "/table99.yaml").table, 99)
    }
}
