// Line plots with markers and error bars: beta sweeps, accuracy against
// teacher size, training curves.

/// A chart of LineSeries values.
public typealias LinePlot = Chart<LineSeries>

/// One line: points (x[i], y[i]), optionally with symmetric error bars.
public struct LineSeries: ChartSeries {
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

extension LineSeries {
    public func extent() -> (x: [Double], y: [Double]) {
        var xs: [Double] = [], ys: [Double] = []
        for case let p? in points() {
            xs.append(p.x)
            ys += [p.y - p.error, p.y + p.error]
        }
        return (xs, ys)
    }

    public func draw(on canvas: inout Canvas, frame: PlotFrame, style: FigureStyle, index: Int) -> (entry: LegendEntry, occupied: [Point]) {
        let color = self.color ?? Palette.seriesColor(index)
        let points = points()
        // Training curves with hundreds of points read better as plain lines.
        let marker = self.marker ?? (points.count > 40 ? .none : Marker.automatic(index))
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
        var occupied: [Point] = []
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
        return (LegendEntry(name: name, color: color, marker: marker, showsLine: true), occupied)
    }
}
