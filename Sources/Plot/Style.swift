// Sizes shared by every figure, in points; multiplied by the render scale.

/// Type sizes, line widths and spacing for one render scale.
struct FigureStyle {
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

    /// Snaps a line of `width` centred on `position` to whole pixels so that it is crisp.
    func snappedStart(_ position: Double, width: Double) -> Double {
        (position - width / 2).rounded()
    }
}
