import XCTest
@testable import Plot

/// Ranges, ticks and awkward data: empty, single point, constant, NaN.
final class LayoutTests: XCTestCase {
    func testRangeSkipsNaNAndPads() {
        let range = AxisRange.fitting([1, .nan, 3, .infinity, 2])
        XCTAssertEqual(range.lower, 0.9, accuracy: 1e-12)
        XCTAssertEqual(range.upper, 3.1, accuracy: 1e-12)
    }

    func testDegenerateRangesAreWidened() {
        XCTAssertEqual(AxisRange.fitting([]), AxisRange(lower: 0, upper: 1))
        XCTAssertEqual(AxisRange.fitting([.nan]), AxisRange(lower: 0, upper: 1))
        XCTAssertEqual(AxisRange.fitting([5, 5, 5]), AxisRange(lower: 4.5, upper: 5.5))
        XCTAssertEqual(AxisRange.fitting([80]), AxisRange(lower: 72, upper: 88))
        XCTAssertEqual(AxisRange(lower: 3, upper: 1), AxisRange(lower: 1, upper: 3))
    }

    func testNiceTicks() {
        XCTAssertEqual(NiceTicks.values(in: AxisRange(lower: 0, upper: 1), count: 6), [0, 0.2, 0.4, 0.6, 0.8, 1.0].map { $0 })
        XCTAssertEqual(NiceTicks.ticks(in: AxisRange(lower: 77.3, upper: 84.9), count: 5).map(\.label),
                       ["78", "80", "82", "84"])
        XCTAssertEqual(NiceTicks.ticks(in: AxisRange(lower: -0.13, upper: 0.41), count: 6).map(\.label),
                       ["-0.1", "0", "0.1", "0.2", "0.3", "0.4"])
        XCTAssertEqual(NiceTicks.label(2_500_000, step: 500_000), "2.5e+06")
    }

    func testAwkwardSeriesRenderWithoutFailing() throws {
        let awkward: [[LineSeries]] = [
            [],
            [LineSeries(name: "empty", x: [], y: [])],
            [LineSeries(name: "single", x: [3], y: [0.7])],
            [LineSeries(name: "constant", x: [0, 1, 2], y: [5, 5, 5])],
            [LineSeries(name: "gaps", x: [0, 1, 2, 3], y: [1, .nan, 2, 3], yError: [0.1, 0.1, .nan, 0.2])],
            [LineSeries(name: "all NaN", x: [.nan], y: [.nan])],
        ]
        for series in awkward {
            let plot = LinePlot(title: "t", xLabel: "x", yLabel: "y", series: series)
            let frame = plot.frame()
            XCTAssertTrue(frame.xRange.span > 0 && frame.yRange.span > 0)
            XCTAssertEqual(try roundTrip(plot.render()).width, 640)
        }
        let single = LinePlot(series: [LineSeries(name: "", x: [3], y: [0.7], color: .black)])
        let frame = single.frame()
        let decoded = single.render()
        XCTAssertEqual(pixel(decoded, at: frame.pixel(x: 3, y: 0.7)), .black)
        XCTAssertEqual(frame.pixel(x: 3, y: 0.7).x, frame.plotArea.midX, accuracy: 1e-9)

        XCTAssertEqual(ScatterPlot(series: [ScatterSeries(name: "x", x: [.nan], y: [1])]).render().height, 440)
        XCTAssertEqual(Heatmap(values: []).render().width, 640)
        XCTAssertEqual(Heatmap(values: [[1, .nan], [1]]).render().width, 640)
        XCTAssertEqual(BarSurface3D(values: []).render().width, 640)
        XCTAssertEqual(BarSurface3D(values: [[0, 0], [0, .nan]], shape: .surface).render().width, 640)
    }

    func testCustomTicksLabelCategories() throws {
        let plot = LinePlot(series: [LineSeries(name: "ScaleKD", x: [0, 1, 2], y: [80.1, 81.0, 82.3])],
                            xTicks: [TickMark(value: 0, label: "S"), TickMark(value: 1, label: "B"),
                                     TickMark(value: 2, label: "L")])
        let layout = plot.axes.layout(scale: 1)
        XCTAssertEqual(layout.xTicks.map(\.label), ["S", "B", "L"])
    }

    func testPlotAreaGrowsWithScale() {
        let one = Samples.line.frame(scale: 1).plotArea, two = Samples.line.frame(scale: 2).plotArea
        XCTAssertEqual(two.width, 2 * one.width, accuracy: 2)
        XCTAssertEqual(two.minY, 2 * one.minY, accuracy: 2)
    }
}
