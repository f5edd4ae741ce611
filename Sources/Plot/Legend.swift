// The legend box: one row per series, placed in the emptiest corner of the axes.

/// One legend row (a series' name, colour and mark).
public struct LegendEntry {
    var name: String
    var color: Color
    var marker: Marker
    var showsLine: Bool
}

enum Legend {
    /// Draws the legend inside `frame.plotArea`, in the corner that covers the
    /// fewest of `occupied` (the data points' pixel positions).
    static func draw(_ entries: [LegendEntry], on canvas: inout Canvas, frame: PlotFrame,
                     occupied: [Point], style: FigureStyle) {
        let named = entries.filter { !$0.name.isEmpty }
        guard !named.isEmpty else { return }
        let font = style.tickFont
        let rowHeight = style.textHeight(fontPixel: font) + 2 * style.pad
        let sampleWidth = 22 * style.scale
        let textWidth = named.map { style.textWidth($0.name, fontPixel: font) }.max() ?? 0
        let boxWidth = (style.pad * 2 + sampleWidth + style.pad * 2 + textWidth + style.pad * 2).rounded()
        let boxHeight = (rowHeight * Double(named.count) + style.pad).rounded()
        let area = frame.plotArea
        let inset = style.pad * 2
        let corners = [
            Point(x: area.maxX - inset - boxWidth, y: area.minY + inset),  // top right
            Point(x: area.minX + inset, y: area.minY + inset),             // top left
            Point(x: area.maxX - inset - boxWidth, y: area.maxY - inset - boxHeight),
            Point(x: area.minX + inset, y: area.maxY - inset - boxHeight),
        ]
        // First corner with the fewest data points under it (ties keep the order above).
        var best = corners[0], bestCount = Int.max
        for corner in corners {
            let box = Rect(x: corner.x, y: corner.y, width: boxWidth, height: boxHeight).insetBy(-style.pad)
            let count = occupied.filter { box.contains($0) }.count
            if count < bestCount { best = corner; bestCount = count }
        }
        let box = Rect(x: best.x.rounded(), y: best.y.rounded(), width: boxWidth, height: boxHeight)
        canvas.fillRect(box, color: Color.white.withAlpha(235))
        let border = style.axisWidth
        canvas.fillRect(Rect(x: box.minX, y: box.minY, width: box.width, height: border), color: .midGray)
        canvas.fillRect(Rect(x: box.minX, y: box.maxY - border, width: box.width, height: border), color: .midGray)
        canvas.fillRect(Rect(x: box.minX, y: box.minY, width: border, height: box.height), color: .midGray)
        canvas.fillRect(Rect(x: box.maxX - border, y: box.minY, width: border, height: box.height), color: .midGray)

        for (row, entry) in named.enumerated() {
            let midY = box.minY + style.pad / 2 + rowHeight * (Double(row) + 0.5)
            let sampleLeft = box.minX + style.pad * 2
            if entry.showsLine {
                canvas.drawLine(from: Point(x: sampleLeft, y: midY), to: Point(x: sampleLeft + sampleWidth, y: midY),
                                width: style.seriesWidth, color: entry.color)
            }
            canvas.drawMarker(entry.marker, at: Point(x: sampleLeft + sampleWidth / 2, y: midY),
                              radius: style.markerRadius, color: entry.color)
            canvas.drawText(entry.name, at: Point(x: sampleLeft + sampleWidth + style.pad * 2, y: midY),
                            pixelSize: font, anchor: .left)
        }
    }
}
