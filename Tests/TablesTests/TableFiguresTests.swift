import Tables
import Training
import Foundation
import Plot
import XCTest

/// A spec's `figures:` entry renders a PNG from the table's cells and links it in the markdown.
final class TableFiguresTests: XCTestCase {
    let spec = """
    table: 98
    title: beta sweep
    source: synthetic
    columns:
      - {id: setting, header: Setting, kind: label}
      - {id: top1, header: Top-1, kind: run}
    plan:
      ci: {epochs: 1, seeds: 2}
    rows:
      - {id: b0, models: {student: resnet-mini, teacher: swin-mini-s}, runs: {top1: {method: scalekd, options: {beta: 0.0}}}}
      - {id: b1, models: {student: resnet-mini, teacher: swin-mini-s}, runs: {top1: {method: scalekd, options: {beta: 1.0}}}}
      - {id: b05, models: {student: resnet-mini, teacher: swin-mini-s}, runs: {top1: {method: scalekd, options: {beta: 0.5}}}}
    figures:
      - {id: fig4, kind: line, title: Top-1 against beta, x: beta, rows: [b0, b05, b1], column: top1}
    """

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "figures-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A result as the runner would write it (TableResult is Codable; its JSON is the contract).
    func result() throws -> TableResult {
        let json = """
        {"table": 98, "title": "beta sweep", "scale": "ci", "seeds": 2, "wallSeconds": 1, "environment": {},
         "claims": [], "runKeys": {},
         "cells": {"b0": {"top1": {"values": [70, 72]}}, "b05": {"top1": {"values": [75, 76]}}, "b1": {"top1": {"values": [73, 73.5]}}}}
        """
        return try JSONDecoder().decode(TableResult.self, from: Data(json.utf8))
    }

    func testLineFigureRendersAndIsLinked() throws {
        let dir = try temporaryDirectory()
        let specPath = dir + "/table98.yaml"
        try spec.write(toFile: specPath, atomically: true, encoding: .utf8)
        let table = try TableSpec.load(specPath)
        try TableOutput(spec: table, result: try result(), directory: dir, teacherRecords: []).write()

        let png = dir + "/table98-fig4.png"
        XCTAssertTrue(FileManager.default.fileExists(atPath: png))
        let canvas = try PNGReader.read(from: URL(fileURLWithPath: png))
        XCTAssertGreaterThan(canvas.width, 100)
        XCTAssertGreaterThan(canvas.height, 100)

        let md = try String(contentsOfFile: dir + "/table98.md", encoding: .utf8)
        XCTAssertTrue(md.contains("![Top-1 against beta](table98-fig4.png)"), md)
        // Points are sorted by x, with mean ± std over the seeds.
        XCTAssertTrue(md.contains("beta 0: 71.00 ± 1.41; beta 0.5: 75.50 ± 0.71; beta 1: 73.25 ± 0.35"), md)
    }

    func testFigureReferencesAreValidated() throws {
        let dir = try temporaryDirectory()
        let cases = [
            (spec.replacingOccurrences(of: "rows: [b0, b05, b1]", with: "rows: [b0, nosuch]"), "unknown row 'nosuch'"),
            (spec.replacingOccurrences(of: "column: top1}", with: "column: top5}"), "'top5' is not a column"),
            (spec.replacingOccurrences(of: "x: beta", with: "x: lambda"), "sets no option 'lambda'"),
        ]
        for (i, (text, message)) in cases.enumerated() {
            let path = dir + "/case\(i).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TableSpec.load(path)) { error in
                XCTAssertTrue("\(error)".contains(message), "expected '\(message)' in: \(error)")
                XCTAssertTrue("\(error)".contains(":14:"), "expected the figure entry's line in: \(error)")
            }
        }
    }
}
