// Scatter plots: two or more coloured point clouds with a legend.

/// One group of points drawn in one colour and shape.
public struct ScatterSeries: Codable, Hashable, Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Nil picks the series' Okabe-Ito colour.
    public var color: Color?
    /// Nil picks a shape by series index.
    public var marker: Marker?

    public init(name: String, x: [Double], y: [Double], color: Color? = nil, marker: Marker? = nil) {
        self.name = name
        self.x = x
        self.y = y
        self.color = color
        self.marker = marker
    }

    /// The finite points, in order (NaN or infinite coordinates are skipped).
    func points() -> [(x: Double, y: Double)] {
        (0..<min(x.count, y.count)).compactMap { i in
            x[i].isFinite && y[i].isFinite ? (x[i], y[i]) : nil
        }
    }
}

/// A scatter chart with a legend, grid and labelled axes.
public struct ScatterPlot: Codable, Hashable, Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [ScatterSeries]
    public var size: PlotSize
    /// Fixed axis ranges; nil fits the data with 5% padding.
    public var xRange: AxisRange?
    public var yRange: AxisRange?
    public var showsGrid: Bool
    public var showsLegend: Bool

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [ScatterSeries] = [],
                size: PlotSize = .standard, xRange: AxisRange? = nil, yRange: AxisRange? = nil,
                showsGrid: Bool = true, showsLegend: Bool = true) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.size = size
        self.xRange = xRange
        self.yRange = yRange
        self.showsGrid = showsGrid
        self.showsLegend = showsLegend
    }

    var axes: CartesianAxes {
        let points = series.flatMap { $0.points() }
        return CartesianAxes(title: title, xLabel: xLabel, yLabel: yLabel,
                             xRange: xRange ?? .fitting(points.map(\.x)),
                             yRange: yRange ?? .fitting(points.map(\.y)),
                             xTicks: nil, yTicks: nil, size: size, showsGrid: showsGrid)
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
            for (index, group) in series.enumerated() {
                let color = group.color ?? Palette.seriesColor(index)
                let marker = group.marker ?? Marker.automatic(index)
                for p in group.points() {
                    let center = frame.pixel(x: p.x, y: p.y)
                    // A white halo keeps overlapping points of different series apart.
                    canvas.drawMarker(marker, at: center, radius: style.markerRadius + style.scale, color: .white)
                    canvas.drawMarker(marker, at: center, radius: style.markerRadius, color: color)
                    occupied.append(center)
                }
                entries.append(LegendEntry(name: group.name, color: color, marker: marker, showsLine: false))
            }
            return (entries, occupied)
        }
    }
}
