// Scatter plots: two or more coloured point clouds with a legend.

/// A chart of ScatterSeries values.
public typealias ScatterPlot = Chart<ScatterSeries>

/// One group of points drawn in one colour and shape.
public struct ScatterSeries: ChartSeries {
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

extension ScatterSeries {
    public func extent() -> (x: [Double], y: [Double]) {
        let p = points()
        return (p.map(\.x), p.map(\.y))
    }

    public func draw(on canvas: inout Canvas, frame: PlotFrame, style: FigureStyle, index: Int) -> (entry: LegendEntry, occupied: [Point]) {
        let color = self.color ?? Palette.seriesColor(index)
        let marker = self.marker ?? Marker.automatic(index)
        var occupied: [Point] = []
        for p in points() {
            let center = frame.pixel(x: p.x, y: p.y)
            // A white halo keeps overlapping points of different series apart.
            canvas.drawMarker(marker, at: center, radius: style.markerRadius + style.scale, color: .white)
            canvas.drawMarker(marker, at: center, radius: style.markerRadius, color: color)
            occupied.append(center)
        }
        return (LegendEntry(name: name, color: color, marker: marker, showsLine: false), occupied)
    }
}
