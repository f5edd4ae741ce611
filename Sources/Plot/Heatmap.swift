// Heatmaps of a matrix with a colour bar (e.g. accuracy over a grid of
// hyper-parameters, or a similarity matrix).

import Foundation

/// A matrix drawn as coloured cells, row 0 at the top, with a viridis colour bar.
public struct Heatmap: Codable, Hashable, Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var colorBarLabel: String
    /// `values[row][column]`; ragged rows are padded with missing cells; NaN is drawn grey.
    public var values: [[Double]]
    /// One label per row / column; nil numbers them from 0.
    public var rowLabels: [String]?
    public var columnLabels: [String]?
    /// The values mapped to the ends of the colour map; nil uses the data's extent.
    public var valueRange: AxisRange?
    /// Print each value in its cell when it fits.
    public var showsValues: Bool
    public var size: PlotSize

    public init(title: String = "", xLabel: String = "", yLabel: String = "", colorBarLabel: String = "",
                values: [[Double]] = [], rowLabels: [String]? = nil, columnLabels: [String]? = nil,
                valueRange: AxisRange? = nil, showsValues: Bool = false, size: PlotSize = .standard) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.colorBarLabel = colorBarLabel
        self.values = values
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.valueRange = valueRange
        self.showsValues = showsValues
        self.size = size
    }

    public var rowCount: Int { values.count }
    public var columnCount: Int { values.map(\.count).max() ?? 0 }

    /// The value at (row, column), NaN when missing.
    public func value(row: Int, column: Int) -> Double {
        row < values.count && column < values[row].count ? values[row][column] : .nan
    }

    /// The values mapped to the two ends of the colour map.
    public var colorRange: AxisRange {
        valueRange ?? .fitting(values.flatMap { $0 }, padding: 0)
    }

    /// The colour of `value` under this heatmap's colour range.
    public func color(for value: Double) -> Color {
        guard value.isFinite else { return Palette.missing }
        let range = colorRange
        return Palette.viridis((value - range.lower) / range.span)
    }

    /// Where the cells and the colour bar land on the canvas.
    public struct Layout: Hashable, Sendable {
        /// The area covered by all cells.
        public let grid: Rect
        public let rows: Int
        public let columns: Int
        /// The colour gradient's rectangle (high values at the top).
        public let colorBar: Rect

        /// The rectangle of cell (row, column).
        public func cellRect(row: Int, column: Int) -> Rect {
            let w = grid.width / Double(max(columns, 1)), h = grid.height / Double(max(rows, 1))
            return Rect(x: grid.minX + Double(column) * w, y: grid.minY + Double(row) * h, width: w, height: h)
        }
    }

    func rowNames() -> [String] { rowLabels ?? (0..<rowCount).map(String.init) }
    func columnNames() -> [String] { columnLabels ?? (0..<columnCount).map(String.init) }

    /// The layout of a render at `scale`.
    public func layout(scale: Int = 1) -> Layout {
        let style = FigureStyle(scale: scale)
        let pad = style.pad
        let width = Double(size.width) * style.scale, height = Double(size.height) * style.scale
        let tickText = style.textHeight(fontPixel: style.tickFont)
        let labelText = style.textHeight(fontPixel: style.labelFont)
        let top = pad * 3 + (title.isEmpty ? 0 : style.textHeight(fontPixel: style.titleFont) + pad * 3)
        let bottom = style.tickLength + pad + tickText + (xLabel.isEmpty ? 0 : pad * 3 + labelText) + pad * 3
        let rowTextWidth = rowNames().map { style.textWidth($0, fontPixel: style.tickFont) }.max() ?? 0
        let left = pad * 3 + (yLabel.isEmpty ? 0 : labelText + pad * 3) + rowTextWidth + pad + style.tickLength
        let barTicks = NiceTicks.ticks(in: colorRange, count: 6)
        let barTextWidth = barTicks.map { style.textWidth($0.label, fontPixel: style.tickFont) }.max() ?? 0
        let barWidth = 14 * style.scale
        let right = pad * 5 + barWidth + style.tickLength + pad + barTextWidth
            + (colorBarLabel.isEmpty ? 0 : pad * 3 + labelText) + pad * 3
        let grid = Rect(x: left.rounded(), y: top.rounded(),
                        width: max(1, width - left - right).rounded(), height: max(1, height - top - bottom).rounded())
        let colorBar = Rect(x: grid.maxX + pad * 5, y: grid.minY, width: barWidth, height: grid.height)
        return Layout(grid: grid, rows: rowCount, columns: columnCount, colorBar: colorBar)
    }

    /// Draws the heatmap; the canvas is `size` times `scale` pixels.
    public func render(scale: Int = 1) -> Canvas {
        let style = FigureStyle(scale: scale)
        let layout = layout(scale: scale)
        let pad = style.pad
        var canvas = Canvas(width: size.width * scale, height: size.height * scale, pixelsPerPoint: scale)
        let grid = layout.grid

        if rowCount == 0 || columnCount == 0 {
            canvas.fillRect(grid, color: Palette.missing)
        }
        let range = colorRange
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                // Cells tile exactly: each edge is snapped to a whole pixel.
                let cell = layout.cellRect(row: row, column: column)
                let snapped = Rect(x: cell.minX.rounded(), y: cell.minY.rounded(),
                                   width: cell.maxX.rounded() - cell.minX.rounded(),
                                   height: cell.maxY.rounded() - cell.minY.rounded())
                let v = value(row: row, column: column)
                canvas.fillRect(snapped, color: color(for: v))
                if showsValues, v.isFinite {
                    let text = NiceTicks.label(v, step: range.span / 100)
                    let fits = style.textWidth(text, fontPixel: style.tickFont) + pad <= cell.width
                        && style.textHeight(fontPixel: style.tickFont) + pad <= cell.height
                    if fits {
                        let dark = (v - range.lower) / range.span < 0.55
                        canvas.drawText(text, at: Point(x: cell.midX, y: cell.midY), pixelSize: style.tickFont,
                                        color: dark ? .white : .ink, anchor: .center)
                    }
                }
            }
        }

        // Row and column labels, thinned out when they would overlap.
        let tickText = style.textHeight(fontPixel: style.tickFont)
        let columnNames = columnNames(), rowNames = rowNames()
        let widestColumn = columnNames.map { style.textWidth($0, fontPixel: style.tickFont) }.max() ?? 0
        let columnEvery = NiceTicks.indexStride(cellSize: grid.width / Double(max(columnCount, 1)), labelSize: widestColumn + pad * 2)
        let rowEvery = NiceTicks.indexStride(cellSize: grid.height / Double(max(rowCount, 1)), labelSize: tickText + pad)
        for column in stride(from: 0, to: columnCount, by: columnEvery) {
            let x = layout.cellRect(row: 0, column: column).midX
            canvas.fillRect(Rect(x: style.snappedStart(x, width: style.axisWidth), y: grid.maxY,
                                 width: style.axisWidth, height: style.tickLength), color: .ink)
            canvas.drawText(column < columnNames.count ? columnNames[column] : "",
                            at: Point(x: x, y: grid.maxY + style.tickLength + pad), pixelSize: style.tickFont, anchor: .top)
        }
        for row in stride(from: 0, to: rowCount, by: rowEvery) {
            let y = layout.cellRect(row: row, column: 0).midY
            canvas.fillRect(Rect(x: grid.minX - style.tickLength, y: style.snappedStart(y, width: style.axisWidth),
                                 width: style.tickLength, height: style.axisWidth), color: .ink)
            canvas.drawText(row < rowNames.count ? rowNames[row] : "",
                            at: Point(x: grid.minX - style.tickLength - pad, y: y), pixelSize: style.tickFont, anchor: .right)
        }

        drawColorBar(on: &canvas, layout: layout, style: style)

        if !xLabel.isEmpty {
            canvas.drawText(xLabel, at: Point(x: grid.midX, y: grid.maxY + style.tickLength + pad + tickText + pad * 3),
                            pixelSize: style.labelFont, anchor: .top)
        }
        if !yLabel.isEmpty {
            canvas.drawText(yLabel, at: Point(x: pad * 3, y: grid.midY), pixelSize: style.labelFont,
                            anchor: .left, vertical: true)
        }
        canvas.drawTitle(title, centeredAt: grid.midX, style: style)
        return canvas
    }

    private func drawColorBar(on canvas: inout Canvas, layout: Layout, style: FigureStyle) {
        let bar = layout.colorBar, range = colorRange, pad = style.pad
        let y0 = Int(bar.minY.rounded()), y1 = Int(bar.maxY.rounded())
        for y in y0..<max(y0 + 1, y1) {
            // Row y shows the value at its centre; the top row is the high end.
            let t = 1 - (Double(y - y0) + 0.5) / Double(max(1, y1 - y0))
            canvas.fillRect(Rect(x: bar.minX, y: Double(y), width: bar.width, height: 1), color: Palette.viridis(t))
        }
        var labelRight = bar.maxX
        for tick in NiceTicks.ticks(in: range, count: 6) {
            let y = bar.maxY - (tick.value - range.lower) / range.span * bar.height
            canvas.fillRect(Rect(x: bar.maxX, y: style.snappedStart(y, width: style.axisWidth),
                                 width: style.tickLength, height: style.axisWidth), color: .ink)
            let box = canvas.drawText(tick.label, at: Point(x: bar.maxX + style.tickLength + pad, y: y),
                                      pixelSize: style.tickFont, anchor: .left)
            labelRight = max(labelRight, box.maxX)
        }
        if !colorBarLabel.isEmpty {
            canvas.drawText(colorBarLabel, at: Point(x: labelRight + pad * 3, y: bar.midY),
                            pixelSize: style.labelFont, anchor: .left, vertical: true)
        }
    }
}
