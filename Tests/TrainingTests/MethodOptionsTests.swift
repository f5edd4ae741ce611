import Distill
import Foundation
import Training
import XCTest

/// A run's typed method options into ScaleKDOptions, the per-stage ones included, and the
/// spec key names they decode from.
final class MethodOptionsTests: XCTestCase {
    func testPerStageKeysAndTeacherMode() {
        let defaults = ScaleKDOptions(MethodConfig(name: .scalekd))
        XCTAssertEqual(defaults, ScaleKDOptions())
        let both = ScaleKDOptions(MethodConfig(name: .scalekd, options: MethodOptions(alphaSpatial: 0.1, alphaFrequency: 0.02)))
        XCTAssertEqual(both.alphaSpatial, [0.1, 0.1])
        XCTAssertEqual(both.alphaFrequency, [0.02, 0.02])
        var o = MethodOptions(alphaFrequency: 0.06, headsS3: 3, headsS4: 6)
        o.alphaFrequencyS4 = 0; o.alphaSpatialS3 = 0.07; o.alphaSpatialS4 = 0.09; o.alphaFrequencyS3 = 0.05
        let perStage = ScaleKDOptions(MethodConfig(name: .scalekd, options: o, flags: MethodFlags(kd: false, teacherTrain: true)))
        XCTAssertEqual(perStage.alphaSpatial, [0.07, 0.09])
        XCTAssertEqual(perStage.alphaFrequency, [0.05, 0])
        XCTAssertEqual(perStage.heads, [3, 6])
        XCTAssertEqual(perStage.teacherMode, .train)
        XCTAssertFalse(perStage.kd)
        XCTAssertEqual(ScaleKDOptions(MethodConfig(name: .scalekd, flags: MethodFlags(teacherTrain: false))).teacherMode, .eval)
        // One stage's heads alone: the other keeps its default.
        XCTAssertEqual(ScaleKDOptions(MethodConfig(name: .scalekd, options: MethodOptions(headsS4: 8))).heads, [ScaleKDOptions().heads[0], 8])
    }

    func testSpecKeyNamesDecode() throws {
        let json = #"{"alpha_spatial_s4": 0.5, "heads_s3": 16, "kd_weight": 0.25, "beta": 0.3}"#
        let o = try JSONDecoder().decode(MethodOptions.self, from: Data(json.utf8))
        XCTAssertEqual(o.alphaSpatialS4, 0.5)
        XCTAssertEqual(o.headsS3, 16)
        XCTAssertEqual(o.kdWeight, 0.25)
        XCTAssertEqual(o.value(named: "beta"), 0.3)
        XCTAssertNil(o.value(named: "betta"))
        let f = try JSONDecoder().decode(MethodFlags.self, from: Data(#"{"teacher_train": true, "stage3": false}"#.utf8))
        XCTAssertEqual(f.teacherTrain, true)
        XCTAssertEqual(f.stage3, false)
    }

    func testOptionRangesAreChecked() {
        XCTAssertEqual(MethodOptions(beta: 1.5).problems(), ["beta must be in [0, 1] (got 1.5)"])
        XCTAssertEqual(MethodOptions(kdWeight: -0.1).problems(), ["kd_weight must be in [0, 1] (got -0.1)"])
        XCTAssertEqual(MethodOptions(headsS3: 0).problems(), ["heads_s3 must be >= 1 (got 0)"])
        XCTAssertTrue(MethodOptions(alphaSpatial: 0.08, beta: 0.5, headsS3: 4).problems().isEmpty)
    }
}
