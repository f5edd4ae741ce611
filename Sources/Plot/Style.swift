// Sizes shared by every figure, in points; multiplied by the render scale.

/// Type sizes, line widths and spacing for one render scale.
public struct FigureStyle {
    let scale: Double

    init(scale: Int) {
        precondition(scale >= 1, "render scale must be at least 1, got \(scale)")
        self.scale = Double(scale)
    }

    /// Size of one font pixel for tick labels, legends and colour-bar labels.
    var tickFont: Double { 1 * scale }
    /// Size of one font pixel for axis labels.
    var labelFont: Double { 2 * scale }
    /// Size of one font pixel for titles.
    var titleFont: Double { 2 * scale }

    var tickLength: Double { 4 * scale }
    var axisWidth: Double { 1 * scale }
    var gridWidth: Double { 1 * scale }
    var seriesWidth: Double { 2 * scale }
    var markerRadius: Double { 3.5 * scale }
    var errorCap: Double { 3 * scale }
    /// The basic unit of white space.
    var pad: Double { 4 * scale }

    func textHeight(fontPixel: Double) -> Double { Double(BitmapFont.capHeight) * fontPixel }
    func textWidth(_ text: String, fontPixel: Double) -> Double {
        BitmapFont.size(of: text, pixelSize: fontPixel).width
    }

    /// The centre x for a line of text `textWidth` wide: `preferred` when it
    /// fits inside the canvas, otherwise shifted just enough to stay inside.
    func centeredX(_ preferred: Double, textWidth: Double, canvasWidth: Int) -> Double {
        let half = textWidth / 2, margin = pad
        let high = Double(canvasWidth) - margin - half
        return high < margin + half ? Double(canvasWidth) / 2 : min(max(preferred, margin + half), high)
    }

    /// Snaps a line of `width` centred on `position` to whole pixels so that it is crisp.
    func snappedStart(_ position: Double, width: Double) -> Double {
        (position - width / 2).rounded()
    }
}

extension Canvas {
    /// Draws a figure title at the top, centred on `preferredCenter` when it fits.
    /// A title too wide for the canvas drops to the small font, then is cut short with "...".
    mutating func drawTitle(_ title: String, centeredAt preferredCenter: Double, style: FigureStyle) {
        guard !title.isEmpty else { return }
        let room = Double(width) - 2 * style.pad
        var text = title
        var font = style.titleFont
        if style.textWidth(text, fontPixel: font) > room { font = style.tickFont }
        while text.count > 1 && style.textWidth(text, fontPixel: font) > room {
            text = String(text.dropLast(4)) + "..."
        }
        let x = style.centeredX(preferredCenter, textWidth: style.textWidth(text, fontPixel: font), canvasWidth: width)
        // Small titles sit on the same baseline as large ones.
        let y = style.pad * 3 + style.textHeight(fontPixel: style.titleFont - font)
        drawText(text, at: Point(x: x, y: y), pixelSize: font, anchor: .top)
    }
}
