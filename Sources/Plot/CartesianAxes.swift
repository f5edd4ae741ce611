// Layout and drawing of a 2-D chart's axes: margins sized to the text they
// hold, ticks, grid, tick labels, axis labels and the title.

/// The non-data parts of a line or scatter chart.
struct CartesianAxes {
    var title: String
    var xLabel: String
    var yLabel: String
    var xRange: AxisRange
    var yRange: AxisRange
    var xTicks: [TickMark]?
    var yTicks: [TickMark]?
    var size: PlotSize
    var showsGrid: Bool

    /// The frame and the ticks chosen to fit it.
    struct Layout {
        var frame: PlotFrame
        var xTicks: [TickMark]
        var yTicks: [TickMark]
    }

    func layout(scale: Int) -> Layout {
        let style = FigureStyle(scale: scale)
        let width = Double(size.width) * style.scale, height = Double(size.height) * style.scale
        let pad = style.pad
        let tickTextHeight = style.textHeight(fontPixel: style.tickFont)
        let labelHeight = style.textHeight(fontPixel: style.labelFont)

        // Vertical: title on top, tick labels and x label below.
        let top = (pad * 3 + (title.isEmpty ? 0 : style.textHeight(fontPixel: style.titleFont) + pad * 3)).rounded()
        let bottom = (style.axisWidth + style.tickLength + pad + tickTextHeight
                      + (xLabel.isEmpty ? 0 : pad * 3 + labelHeight) + pad * 3).rounded()
        let plotHeight = max(1, height - top - bottom)

        // y ticks about every 45 points; their widest label sets the left margin.
        let yTickMarks = yTicks.map { $0.filter { yRange.contains($0.value) } }
            ?? NiceTicks.ticks(in: yRange, count: max(2, Int(plotHeight / (45 * style.scale)) + 1))
        let yTickWidth = yTickMarks.map { style.textWidth($0.label, fontPixel: style.tickFont) }.max() ?? 0
        let left = (pad * 3 + (yLabel.isEmpty ? 0 : labelHeight + pad * 3) + yTickWidth + pad
                    + style.tickLength + style.axisWidth).rounded()

        // x ticks: as many as fit without their labels touching.
        var xTickMarks: [TickMark] = []
        var right = pad * 4
        var plotWidth = max(1, width - left - right)
        if let custom = xTicks {
            xTickMarks = custom.filter { xRange.contains($0.value) }
        } else {
            var count = max(2, Int(plotWidth / (70 * style.scale)) + 1)
            while true {
                xTickMarks = NiceTicks.ticks(in: xRange, count: count)
                let widest = xTickMarks.map { style.textWidth($0.label, fontPixel: style.tickFont) }.max() ?? 0
                let spacing = NiceTicks.step(for: xRange, count: count) / xRange.span * plotWidth
                if spacing >= widest + pad * 3 || count <= 2 { break }
                count -= 1
            }
        }
        // Leave room for half of the last tick label past the axes' right edge.
        let lastLabelHalf = (xTickMarks.last.map { style.textWidth($0.label, fontPixel: style.tickFont) } ?? 0) / 2
        right = max(pad * 4, lastLabelHalf + pad * 2).rounded()
        plotWidth = max(1, width - left - right)

        let area = Rect(x: left, y: top, width: plotWidth.rounded(), height: plotHeight.rounded())
        return Layout(frame: PlotFrame(plotArea: area, xRange: xRange, yRange: yRange),
                      xTicks: xTickMarks, yTicks: yTickMarks)
    }

    /// Grid lines, drawn before the data.
    /// Draws a chart on these axes: grid, the chart's marks (which return their legend
    /// entries and the pixels they cover, so the legend avoids them), axes, legend.
    func render(scale: Int, showsLegend: Bool,
                marks: (inout Canvas, PlotFrame, FigureStyle) -> (entries: [LegendEntry], occupied: [Point])) -> Canvas {
        let style = FigureStyle(scale: scale)
        let layout = self.layout(scale: scale)
        var canvas = Canvas(width: size.width * scale, height: size.height * scale, pixelsPerPoint: scale)
        drawBackground(on: &canvas, layout: layout, style: style)
        let (entries, occupied) = marks(&canvas, layout.frame, style)
        drawForeground(on: &canvas, layout: layout, style: style)
        if showsLegend { Legend.draw(entries, on: &canvas, frame: layout.frame, occupied: occupied, style: style) }
        return canvas
    }

    func drawBackground(on canvas: inout Canvas, layout: Layout, style: FigureStyle) {
        guard showsGrid else { return }
        let area = layout.frame.plotArea
        let w = style.gridWidth
        for tick in layout.yTicks {
            let y = style.snappedStart(layout.frame.pixelY(tick.value), width: w)
            canvas.fillRect(Rect(x: area.minX, y: y, width: area.width, height: w), color: .gridGray)
        }
        for tick in layout.xTicks {
            let x = style.snappedStart(layout.frame.pixelX(tick.value), width: w)
            canvas.fillRect(Rect(x: x, y: area.minY, width: w, height: area.height), color: .gridGray)
        }
    }

    /// Axis lines, ticks, labels and title, drawn after the data.
    func drawForeground(on canvas: inout Canvas, layout: Layout, style: FigureStyle) {
        let frame = layout.frame, area = frame.plotArea
        let aw = style.axisWidth, pad = style.pad
        // Left and bottom spines sit just outside the plot area.
        canvas.fillRect(Rect(x: area.minX - aw, y: area.minY, width: aw, height: area.height + aw), color: .ink)
        canvas.fillRect(Rect(x: area.minX - aw, y: area.maxY, width: area.width + aw, height: aw), color: .ink)

        for tick in layout.xTicks {
            let x = frame.pixelX(tick.value)
            canvas.fillRect(Rect(x: style.snappedStart(x, width: aw), y: area.maxY + aw,
                                 width: aw, height: style.tickLength), color: .ink)
            canvas.drawText(tick.label, at: Point(x: x, y: area.maxY + aw + style.tickLength + pad),
                            pixelSize: style.tickFont, anchor: .top)
        }
        for tick in layout.yTicks {
            let y = frame.pixelY(tick.value)
            canvas.fillRect(Rect(x: area.minX - aw - style.tickLength, y: style.snappedStart(y, width: aw),
                                 width: style.tickLength, height: aw), color: .ink)
            canvas.drawText(tick.label, at: Point(x: area.minX - aw - style.tickLength - pad, y: y),
                            pixelSize: style.tickFont, anchor: .right)
        }
        let tickTextHeight = style.textHeight(fontPixel: style.tickFont)
        if !xLabel.isEmpty {
            let y = area.maxY + aw + style.tickLength + pad + tickTextHeight + pad * 3
            canvas.drawText(xLabel, at: Point(x: area.midX, y: y), pixelSize: style.labelFont, anchor: .top)
        }
        if !yLabel.isEmpty {
            canvas.drawText(yLabel, at: Point(x: pad * 3, y: area.midY), pixelSize: style.labelFont,
                            anchor: .left, vertical: true)
        }
        canvas.drawTitle(title, centeredAt: area.midX, style: style)
    }
}
