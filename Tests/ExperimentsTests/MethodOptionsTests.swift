import Distill
import Experiments
import XCTest

/// A method config's string keys into ScaleKDOptions (Runs.swift), the per-stage ones included.
final class MethodOptionsTests: XCTestCase {
    func testPerStageKeysAndTeacherMode() {
        let defaults = ScaleKDOptions(MethodConfig(name: "scalekd"))
        XCTAssertEqual(defaults, ScaleKDOptions())
        let both = ScaleKDOptions(MethodConfig(name: "scalekd", options: ["alpha_spatial": 0.1, "alpha_frequency": 0.02]))
        XCTAssertEqual(both.alphaSpatial, [0.1, 0.1])
        XCTAssertEqual(both.alphaFrequency, [0.02, 0.02])
        let perStage = ScaleKDOptions(MethodConfig(name: "scalekd",
                                                   options: ["alpha_frequency": 0.06, "alpha_frequency_s4": 0,
                                                             "alpha_spatial_s3": 0.07, "alpha_spatial_s4": 0.09,
                                                             "alpha_frequency_s3": 0.05, "heads_s3": 3, "heads_s4": 6],
                                                   flags: ["teacher_train": true, "kd": false]))
        XCTAssertEqual(perStage.alphaSpatial, [0.07, 0.09])
        XCTAssertEqual(perStage.alphaFrequency, [0.05, 0])
        XCTAssertEqual(perStage.heads, [3, 6])
        XCTAssertEqual(perStage.teacherMode, .train)
        XCTAssertFalse(perStage.kd)
        XCTAssertEqual(ScaleKDOptions(MethodConfig(name: "scalekd", flags: ["teacher_train": false])).teacherMode, .eval)
    }
}
