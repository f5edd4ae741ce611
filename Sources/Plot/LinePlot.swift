// Line plots with markers and error bars: beta sweeps, accuracy against
// teacher size, training curves.

/// One line: points (x[i], y[i]), optionally with symmetric error bars.
public struct LineSeries: Codable, Hashable, Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Half-length of the error bar at each point (e.g. the std over seeds); NaN for none.
    public var yError: [Double]?
    /// Nil picks the series' Okabe-Ito colour.
    public var color: Color?
    /// Nil picks a shape by series index (none beyond 40 points); `.none` draws the line only.
    public var marker: Marker?

    public init(name: String, x: [Double], y: [Double], yError: [Double]? = nil,
                color: Color? = nil, marker: Marker? = nil) {
        self.name = name
        self.x = x
        self.y = y
        self.yError = yError
        self.color = color
        self.marker = marker
    }

    /// Points where both coordinates are finite, in order; `nil` marks a gap.
    func points() -> [(x: Double, y: Double, error: Double)?] {
        (0..<min(x.count, y.count)).map { i in
            guard x[i].isFinite, y[i].isFinite else { return nil }
            let e = yError.flatMap { i < $0.count ? $0[i] : nil } ?? .nan
            return (x[i], y[i], e.isFinite ? abs(e) : 0)
        }
    }
}

/// A line chart with one or more series, a legend, grid and labelled axes.
public struct LinePlot: Codable, Hashable, Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [LineSeries]
    public var size: PlotSize
    /// Fixed axis ranges; nil fits the data with 5% padding.
    public var xRange: AxisRange?
    public var yRange: AxisRange?
    /// Fixed ticks (e.g. teacher sizes "S", "B", "L" at 0, 1, 2); nil chooses nice values.
    public var xTicks: [TickMark]?
    public var yTicks: [TickMark]?
    public var showsGrid: Bool
    public var showsLegend: Bool

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [LineSeries] = [],
                size: PlotSize = .standard, xRange: AxisRange? = nil, yRange: AxisRange? = nil,
                xTicks: [TickMark]? = nil, yTicks: [TickMark]? = nil,
                showsGrid: Bool = true, showsLegend: Bool = true) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.size = size
        self.xRange = xRange
        self.yRange = yRange
        self.xTicks = xTicks
        self.yTicks = yTicks
        self.showsGrid = showsGrid
        self.showsLegend = showsLegend
    }

    var axes: CartesianAxes {
        var xs: [Double] = xTicks?.map(\.value) ?? [], ys: [Double] = []
        for line in series {
            for case let point? in line.points() {
                xs.append(point.x)
                ys.append(point.y - point.error)
                ys.append(point.y + point.error)
            }
        }
        return CartesianAxes(title: title, xLabel: xLabel, yLabel: yLabel,
                             xRange: xRange ?? .fitting(xs), yRange: yRange ?? .fitting(ys),
                             xTicks: xTicks, yTicks: yTicks, size: size, showsGrid: showsGrid)
    }

    /// The data -> pixel transform of a render at `scale`.
    public func frame(scale: Int = 1) -> PlotFrame {
        axes.layout(scale: scale).frame
    }

    /// Draws the chart; the canvas is `size` times `scale` pixels.
    public func render(scale: Int = 1) -> Canvas {
        axes.render(scale: scale, showsLegend: showsLegend) { canvas, frame, style in
            var occupied: [Point] = []
            var entries: [LegendEntry] = []
            for (index, line) in series.enumerated() {
                let color = line.color ?? Palette.seriesColor(index)
                let points = line.points()
                // Training curves with hundreds of points read better as plain lines.
                let marker = line.marker ?? (points.count > 40 ? .none : Marker.automatic(index))
                // Error bars first, so that the line and markers sit on top of them.
                for case let p? in points where p.error > 0 {
                    let x = frame.pixelX(p.x), low = frame.pixelY(p.y - p.error), high = frame.pixelY(p.y + p.error)
                    let barWidth = style.axisWidth * 1.5
                    canvas.drawLine(from: Point(x: x, y: low), to: Point(x: x, y: high), width: barWidth, color: color)
                    for end in [low, high] {
                        canvas.drawLine(from: Point(x: x - style.errorCap, y: end), to: Point(x: x + style.errorCap, y: end),
                                        width: barWidth, color: color)
                    }
                }
                // The line, broken where a point is missing.
                var previous: Point?
                for p in points {
                    guard let p else { previous = nil; continue }
                    let current = frame.pixel(x: p.x, y: p.y)
                    if let previous {
                        canvas.drawLine(from: previous, to: current, width: style.seriesWidth, color: color)
                    }
                    previous = current
                    occupied.append(current)
                }
                for case let p? in points {
                    canvas.drawMarker(marker, at: frame.pixel(x: p.x, y: p.y), radius: style.markerRadius, color: color)
                }
                entries.append(LegendEntry(name: line.name, color: color, marker: marker, showsLine: true))
            }
            return (entries, occupied)
        }
    }
}
