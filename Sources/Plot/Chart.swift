// A 2-D chart on Cartesian axes: the axes' settings once, the marks by series kind.
// LinePlot and ScatterPlot are charts of line and scatter series.

/// A kind of series a Chart can draw.
public protocol ChartSeries: Codable, Hashable, Sendable {
    /// The values the axes must show when their range fits the data.
    func extent() -> (x: [Double], y: [Double])
    /// Draws the series (the `index`-th of its chart) and returns its legend entry and the
    /// pixels it covers (so the legend avoids them).
    func draw(on canvas: inout Canvas, frame: PlotFrame, style: FigureStyle, index: Int) -> (entry: LegendEntry, occupied: [Point])
}

/// A chart with one or more series, a legend, grid and labelled axes.
public struct Chart<Series: ChartSeries>: Codable, Hashable, Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var size: PlotSize
    /// Fixed axis ranges; nil fits the data with 5% padding.
    public var xRange: AxisRange?
    public var yRange: AxisRange?
    /// Fixed ticks (e.g. teacher sizes "S", "B", "L" at 0, 1, 2); nil chooses nice values.
    public var xTicks: [TickMark]?
    public var yTicks: [TickMark]?
    public var showsGrid: Bool
    public var showsLegend: Bool

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series] = [],
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
        for s in series {
            let e = s.extent()
            xs += e.x
            ys += e.y
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
            for (index, s) in series.enumerated() {
                let drawn = s.draw(on: &canvas, frame: frame, style: style, index: index)
                entries.append(drawn.entry)
                occupied += drawn.occupied
            }
            return (entries, occupied)
        }
    }
}
