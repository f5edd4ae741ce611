import Foundation
import XCTest
@testable import Plot

/// Renders figures, decodes the PNG with libpng and checks where things land.
final class FigureTests: XCTestCase {
    func testEveryFigureHasTheRequestedSizeAtScaleOneAndTwo() throws {
        let sizes = PlotSize(width: 320, height: 240)
        var line = Samples.line, scatter = Samples.scatter, heatmap = Samples.heatmap, dct = Samples.dct
        line.size = sizes; scatter.size = sizes; heatmap.size = sizes; dct.size = sizes
        for scale in [1, 2] {
            for canvas in [line.render(scale: scale), scatter.render(scale: scale),
                           heatmap.render(scale: scale), dct.render(scale: scale)] {
                let decoded = try roundTrip(canvas)
                XCTAssertEqual(decoded.width, 320 * scale)
                XCTAssertEqual(decoded.height, 240 * scale)
            }
        }
    }

    func testLineMarkerAtTheOriginHasTheSeriesColour() throws {
        let color = Color(hex: 0xD55E00)
        let plot = LinePlot(series: [LineSeries(name: "a", x: [-1, 0, 2], y: [1, 0, 3], color: color, marker: .square)],
                            showsLegend: false)
        for scale in [1, 2] {
            let frame = plot.frame(scale: scale)
            let origin = frame.pixel(x: 0, y: 0)
            XCTAssertTrue(frame.plotArea.contains(origin))
            // x = -1 and x = 2 are the range ends before padding, so 0 sits a third of the way.
            XCTAssertEqual((origin.x - frame.pixelX(-1)) / (frame.pixelX(2) - frame.pixelX(-1)), 1.0 / 3, accuracy: 1e-9)
            let decoded = try roundTrip(plot.render(scale: scale))
            XCTAssertEqual(pixel(decoded, at: origin), color)
            XCTAssertEqual(pixel(decoded, at: frame.pixel(x: 2, y: 3)), color)
            // Far from the line, the axes area is background or grid.
            let empty = pixel(decoded, at: frame.pixel(x: 1.5, y: 0.2))
            XCTAssertTrue(empty == .white || empty == .gridGray, "got \(empty)")
        }
    }

    func testScatterPointsOfEachSeriesHaveTheirColour() throws {
        let plot = ScatterPlot(series: [ScatterSeries(name: "teacher", x: [0, 1], y: [0, 1]),
                                        ScatterSeries(name: "student", x: [1, 2], y: [0, 0.5])])
        let frame = plot.frame()
        let decoded = try roundTrip(plot.render())
        XCTAssertEqual(pixel(decoded, at: frame.pixel(x: 0, y: 0)), Palette.seriesColor(0))
        XCTAssertEqual(pixel(decoded, at: frame.pixel(x: 1, y: 0)), Palette.seriesColor(1))
        XCTAssertEqual(pixel(decoded, at: frame.pixel(x: 2, y: 0.5)), Palette.seriesColor(1))
    }

    func testHeatmapCellsAndColourBarUseViridis() throws {
        let heatmap = Heatmap(values: [[0, 1], [2, 3]], showsValues: false)
        let layout = heatmap.layout()
        let decoded = try roundTrip(heatmap.render())
        let topLeft = layout.cellRect(row: 0, column: 0), bottomRight = layout.cellRect(row: 1, column: 1)
        XCTAssertEqual(pixel(decoded, at: Point(x: topLeft.midX, y: topLeft.midY)), Palette.viridis(0))
        XCTAssertEqual(pixel(decoded, at: Point(x: bottomRight.midX, y: bottomRight.midY)), Palette.viridis(1))
        let bar = layout.colorBar
        XCTAssertEqual(pixel(decoded, at: Point(x: bar.midX, y: bar.minY + 0.5)).green,
                       Palette.viridis(1).green, accuracy: 4)
        XCTAssertEqual(pixel(decoded, at: Point(x: bar.midX, y: bar.maxY - 0.5)).green,
                       Palette.viridis(0).green, accuracy: 4)
    }

    func testTallestBarTopIsDrawnWhereTheProjectionSays() throws {
        var values = Array(repeating: Array(repeating: 1.0, count: 4), count: 5)
        values[2][0] = 10  // a tall front bar
        let view = BarSurface3D(values: values)
        let projection = view.projection()
        let decoded = try roundTrip(view.render())
        // The middle of the bar's top face and of its front face.
        let top = projection.point(channel: 2.5, frequency: 0.5, magnitude: 10)
        XCTAssertEqual(pixel(decoded, at: top), Palette.viridis(1))
        let front = projection.point(channel: 2.5, frequency: 0.12, magnitude: 5)
        XCTAssertEqual(pixel(decoded, at: front), Palette.viridis(1).shaded(0.8))
        XCTAssertEqual(projection.zRange, AxisRange(lower: 0, upper: 10))
    }

    func testSurfaceShapeRenders() throws {
        var view = Samples.dct
        view.shape = .surface
        let canvas = view.render()
        let projection = view.projection()
        let peak = projection.point(channel: 0.6, frequency: 0.6, magnitude: 0)
        XCTAssertGreaterThan(inkCount(in: canvas, rect: Rect(x: peak.x, y: peak.y - 40, width: 40, height: 40)), 100)
    }

    func testTextLandsInsideItsBox() throws {
        var canvas = Canvas(width: 200, height: 80)
        let box = canvas.drawText("Top-1 (%)", at: Point(x: 100, y: 20), pixelSize: 2, anchor: .top)
        XCTAssertEqual(box.width, Double(9 * 6 - 1) * 2)
        XCTAssertEqual(box.midX, 100, accuracy: 1)
        let decoded = try roundTrip(canvas)
        XCTAssertGreaterThan(inkCount(in: decoded, rect: box), 50)
        XCTAssertEqual(inkCount(in: decoded, rect: Rect(x: 0, y: 0, width: 200, height: 18)), 0)
        // Descenders may hang below the box, nothing else.
        XCTAssertEqual(inkCount(in: decoded, rect: Rect(x: 0, y: box.maxY + 2 * 2, width: 200, height: 30)), 0)
    }

    func testVerticalTextIsRotated() {
        var canvas = Canvas(width: 60, height: 120)
        let box = canvas.drawText("accuracy", at: Point(x: 30, y: 60), pixelSize: 1, anchor: .center, vertical: true)
        XCTAssertEqual(box.width, 7)
        XCTAssertEqual(box.height, Double(8 * 6 - 1))
        XCTAssertGreaterThan(inkCount(in: canvas, rect: box), 40)
    }

    func testAxisTitlesAndTickLabelsRender() throws {
        let plot = Samples.line
        let frame = plot.frame()
        let decoded = try roundTrip(plot.render())
        // Tick labels between the bottom spine and the canvas edge, and left of the axes.
        let below = Rect(x: frame.plotArea.minX, y: frame.plotArea.maxY + 6,
                         width: frame.plotArea.width, height: Double(decoded.height) - frame.plotArea.maxY - 6)
        XCTAssertGreaterThan(inkCount(in: decoded, rect: below), 200)
        let left = Rect(x: 0, y: frame.plotArea.minY, width: frame.plotArea.minX - 6, height: frame.plotArea.height)
        XCTAssertGreaterThan(inkCount(in: decoded, rect: left), 200)
        let titleBand = Rect(x: 0, y: 0, width: Double(decoded.width), height: frame.plotArea.minY)
        XCTAssertGreaterThan(inkCount(in: decoded, rect: titleBand), 200)
    }

    func testEveryFigureRendersByteIdenticallyTwice() {
        XCTAssertEqual(Samples.line.render(scale: 2).pngData(), Samples.line.render(scale: 2).pngData())
        XCTAssertEqual(Samples.scatter.render().pngData(), Samples.scatter.render().pngData())
        XCTAssertEqual(Samples.heatmap.render().pngData(), Samples.heatmap.render().pngData())
        XCTAssertEqual(Samples.dct.render().pngData(), Samples.dct.render().pngData())
    }

    func testFiguresSurviveCodableRoundTrip() throws {
        let plot = Samples.line
        let decoded = try JSONDecoder().decode(LinePlot.self, from: JSONEncoder().encode(plot))
        XCTAssertEqual(decoded, plot)
        let dct = try JSONDecoder().decode(BarSurface3D.self, from: JSONEncoder().encode(Samples.dct))
        XCTAssertEqual(dct, Samples.dct)
    }
}
