import Foundation
import XCTest
@testable import Plot

/// Writes one sample of each figure type to docs/figures/ so that people can look at them:
///
///     SCALEKD_WRITE_SAMPLES=1 swift test --filter PlotTests.SampleFigures
///
/// Without the variable it is skipped (the other tests check the pixels).
final class SampleFigures: XCTestCase {
    func testWriteSamples() throws {
        var surface = Samples.dct
        surface.shape = .surface
        surface.title = "Per-channel DCT magnitude (surface)"
        let figures: [(String, Canvas)] = [
            ("sample-line.png", Samples.line.render()),
            ("sample-scatter.png", Samples.scatter.render()),
            ("sample-heatmap.png", Samples.heatmap.render()),
            ("sample-dct3d.png", Samples.dct.render()),
            ("sample-dct3d-surface.png", surface.render()),
            ("sample-line@2x.png", Samples.line.render(scale: 2)),
        ]
        guard ProcessInfo.processInfo.environment["SCALEKD_WRITE_SAMPLES"] == "1" else {
            throw XCTSkip("writes docs/figures only with SCALEKD_WRITE_SAMPLES=1 (the other Plot tests check the pixels)")
        }
        // Tests/PlotTests/SampleFigures.swift -> repository root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("docs/figures", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, canvas) in figures {
            try canvas.writePNG(to: directory.appendingPathComponent(name))
        }
    }
}
