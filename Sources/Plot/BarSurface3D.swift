// A 3-D view of a (channel x frequency) array, as in the ScaleKD paper's
// Figures 2 and 5 (per-channel DCT magnitude): bars or a surface over the
// (channel index, frequency index) floor, height = magnitude, drawn in an
// oblique projection with the painter's algorithm (back to front).

import Foundation

/// The oblique projection of a `BarSurface3D`: channel runs right, frequency
/// recedes up and to the right, magnitude runs up.
public struct ObliqueProjection: Hashable, Sendable {
    /// The canvas position of (channel 0, frequency 0, magnitude `zRange.lower`).
    public let origin: Point
    /// Pixels per channel index along the front edge.
    public let channelStep: Double
    /// Pixels per frequency index: right by `depthStep.x`, up by `depthStep.y`.
    public let depthStep: Point
    /// Pixels per unit of magnitude.
    public let heightScale: Double
    public let zRange: AxisRange

    /// The canvas position of a point in (channel, frequency, magnitude) space.
    /// Bar (c, f) covers channel [c, c+1] and frequency [f, f+1].
    public func point(channel: Double, frequency: Double, magnitude: Double) -> Point {
        Point(x: origin.x + channel * channelStep + frequency * depthStep.x,
              y: origin.y - frequency * depthStep.y - (magnitude - zRange.lower) * heightScale)
    }
}

/// Bars or a surface over a (channel x frequency) grid.
public struct BarSurface3D: Codable, Hashable, Sendable {
    /// How the heights are drawn.
    public enum Shape: String, Codable, Sendable {
        case bars, surface
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var zLabel: String
    /// `values[channel][frequency]`; NaN cells are left out.
    public var values: [[Double]]
    public var shape: Shape
    /// Fixed magnitude range; nil runs from min(0, data) to the data's maximum, rounded to a tick.
    public var zRange: AxisRange?
    /// Angle of the receding frequency axis above the horizontal, in degrees.
    public var depthAngle: Double
    /// Share of the drawing width given to the receding axis.
    public var depthShare: Double
    public var size: PlotSize

    public init(title: String = "", xLabel: String = "channel", yLabel: String = "frequency",
                zLabel: String = "magnitude", values: [[Double]] = [], shape: Shape = .bars,
                zRange: AxisRange? = nil, depthAngle: Double = 28, depthShare: Double = 0.4,
                size: PlotSize = .standard) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.zLabel = zLabel
        self.values = values
        self.shape = shape
        self.zRange = zRange
        self.depthAngle = depthAngle
        self.depthShare = depthShare
        self.size = size
    }

    public var channelCount: Int { values.count }
    public var frequencyCount: Int { values.map(\.count).max() ?? 0 }

    func value(_ channel: Int, _ frequency: Int) -> Double {
        frequency < values[channel].count ? values[channel][frequency] : .nan
    }

    /// The magnitude range of the box: from min(0, data) up to the first nice tick at or above the maximum.
    public var magnitudeRange: AxisRange {
        if let zRange { return zRange }
        let data = AxisRange.fitting(values.flatMap { $0 }, padding: 0)
        let base = AxisRange(lower: min(0, data.lower), upper: max(0, data.upper))
        let step = NiceTicks.step(for: base, count: 5)
        return AxisRange(lower: (base.lower / step).rounded(.down) * step, upper: (base.upper / step).rounded(.up) * step)
    }

    /// Text sizes that set the margins.
    private func margins(_ style: FigureStyle) -> (left: Double, right: Double, top: Double, bottom: Double) {
        let pad = style.pad
        let tickText = style.textHeight(fontPixel: style.tickFont)
        let labelText = style.textHeight(fontPixel: style.labelFont)
        let zTicks = NiceTicks.ticks(in: magnitudeRange, count: 5)
        let zTickWidth = zTicks.map { style.textWidth($0.label, fontPixel: style.tickFont) }.max() ?? 0
        let frequencyTickWidth = style.textWidth(String(max(0, frequencyCount - 1)), fontPixel: style.tickFont)
        let left = pad * 3 + (zLabel.isEmpty ? 0 : labelText + pad * 3) + zTickWidth + pad + style.tickLength
        let right = pad * 4 + style.tickLength + frequencyTickWidth
        let top = pad * 3 + (title.isEmpty ? 0 : style.textHeight(fontPixel: style.titleFont) + pad * 3)
        let bottom = style.tickLength + pad + tickText + (xLabel.isEmpty && yLabel.isEmpty ? 0 : pad * 3 + labelText) + pad * 3
        return (left.rounded(), right.rounded(), top.rounded(), bottom.rounded())
    }

    /// The projection of a render at `scale`: the box [0, channels] x [0, frequencies] x zRange fills the drawing area.
    public func projection(scale: Int = 1) -> ObliqueProjection {
        let style = FigureStyle(scale: scale)
        let m = margins(style)
        let width = Double(size.width) * style.scale - m.left - m.right
        let height = Double(size.height) * style.scale - m.top - m.bottom
        let angle = depthAngle * .pi / 180
        var depthWidth = width * max(0, min(0.9, depthShare))
        // Keep at least 60% of the height for the magnitude axis.
        if depthWidth * tan(angle) > height * 0.4 { depthWidth = height * 0.4 / max(tan(angle), 1e-9) }
        let depthHeight = depthWidth * tan(angle)
        let channels = Double(max(channelCount, 1)), frequencies = Double(max(frequencyCount, 1))
        let range = magnitudeRange
        return ObliqueProjection(
            origin: Point(x: m.left, y: m.top + height),
            channelStep: max(1e-9, width - depthWidth) / channels,
            depthStep: Point(x: depthWidth / frequencies, y: depthHeight / frequencies),
            heightScale: max(1e-9, height - depthHeight) / range.span,
            zRange: range)
    }

    /// Draws the view; the canvas is `size` times `scale` pixels.
    public func render(scale: Int = 1) -> Canvas {
        let style = FigureStyle(scale: scale)
        let projection = projection(scale: scale)
        var canvas = Canvas(width: size.width * scale, height: size.height * scale, pixelsPerPoint: scale)
        drawBox(on: &canvas, projection: projection, style: style)
        if shape == .surface && channelCount >= 2 && frequencyCount >= 2 {
            drawSurface(on: &canvas, projection: projection, style: style)
        } else {
            drawBars(on: &canvas, projection: projection, style: style)
        }
        drawAxisLabels(on: &canvas, projection: projection, style: style)
        return canvas
    }

    /// Viridis over the data's own extent, so the tallest bar is always yellow.
    private func colorFor(_ value: Double) -> Color {
        let data = AxisRange.fitting(values.flatMap { $0 }, padding: 0)
        let range = AxisRange(lower: min(0, data.lower), upper: data.upper)
        return Palette.viridis((value - range.lower) / range.span)
    }

    /// Back wall, left wall and floor with grid lines at the ticks.
    private func drawBox(on canvas: inout Canvas, projection p: ObliqueProjection, style: FigureStyle) {
        let c = Double(max(channelCount, 1)), f = Double(max(frequencyCount, 1))
        let lo = p.zRange.lower, hi = p.zRange.upper
        let wall = Color(hex: 0xF3F3F3), floor = Color(hex: 0xE4E4E4)
        canvas.fillPolygon([p.point(channel: 0, frequency: f, magnitude: lo), p.point(channel: c, frequency: f, magnitude: lo),
                            p.point(channel: c, frequency: f, magnitude: hi), p.point(channel: 0, frequency: f, magnitude: hi)], color: wall)
        canvas.fillPolygon([p.point(channel: 0, frequency: 0, magnitude: lo), p.point(channel: 0, frequency: f, magnitude: lo),
                            p.point(channel: 0, frequency: f, magnitude: hi), p.point(channel: 0, frequency: 0, magnitude: hi)], color: wall)
        canvas.fillPolygon([p.point(channel: 0, frequency: 0, magnitude: lo), p.point(channel: c, frequency: 0, magnitude: lo),
                            p.point(channel: c, frequency: f, magnitude: lo), p.point(channel: 0, frequency: f, magnitude: lo)], color: floor)
        let grid = Color(hex: 0xD8D8D8), w = style.gridWidth
        for tick in NiceTicks.ticks(in: p.zRange, count: 5) {
            canvas.drawPolyline([p.point(channel: 0, frequency: 0, magnitude: tick.value),
                                 p.point(channel: 0, frequency: f, magnitude: tick.value),
                                 p.point(channel: c, frequency: f, magnitude: tick.value)], width: w, color: grid)
        }
        let edge = Color.midGray
        canvas.drawPolyline([p.point(channel: 0, frequency: 0, magnitude: hi), p.point(channel: 0, frequency: 0, magnitude: lo),
                             p.point(channel: c, frequency: 0, magnitude: lo), p.point(channel: c, frequency: f, magnitude: lo)],
                            width: style.axisWidth, color: .ink)
        canvas.drawPolyline([p.point(channel: 0, frequency: f, magnitude: lo), p.point(channel: 0, frequency: f, magnitude: hi),
                             p.point(channel: c, frequency: f, magnitude: hi), p.point(channel: c, frequency: f, magnitude: lo)],
                            width: w, color: edge)
        canvas.drawLine(from: p.point(channel: 0, frequency: 0, magnitude: hi), to: p.point(channel: 0, frequency: f, magnitude: hi),
                        width: w, color: edge)
    }

    /// One box per cell, from the base to the value; back rows first, and
    /// within a row left to right, because the visible side faces look right.
    private func drawBars(on canvas: inout Canvas, projection p: ObliqueProjection, style: FigureStyle) {
        let gap = channelCount > 48 ? 0.06 : 0.12
        let base = max(p.zRange.lower, min(0, p.zRange.upper))
        for frequency in stride(from: frequencyCount - 1, through: 0, by: -1) {
            for channel in 0..<channelCount {
                let v = value(channel, frequency)
                guard v.isFinite else { continue }
                let c0 = Double(channel) + gap, c1 = Double(channel + 1) - gap
                let f0 = Double(frequency) + gap, f1 = Double(frequency + 1) - gap
                let bottom = min(base, v), top = max(base, v)
                func q(_ c: Double, _ f: Double, _ z: Double) -> Point { p.point(channel: c, frequency: f, magnitude: z) }
                let color = colorFor(v)
                if top > bottom {
                    canvas.fillPolygon([q(c0, f0, bottom), q(c1, f0, bottom), q(c1, f0, top), q(c0, f0, top)], color: color.shaded(0.8))
                    canvas.fillPolygon([q(c1, f0, bottom), q(c1, f1, bottom), q(c1, f1, top), q(c1, f0, top)], color: color.shaded(0.6))
                }
                canvas.fillPolygon([q(c0, f0, top), q(c1, f0, top), q(c1, f1, top), q(c0, f1, top)], color: color)
            }
        }
    }

    /// Quads between neighbouring cell centres, lit from the upper left.
    private func drawSurface(on canvas: inout Canvas, projection p: ObliqueProjection, style: FigureStyle) {
        let range = p.zRange
        for frequency in stride(from: frequencyCount - 2, through: 0, by: -1) {
            for channel in 0..<(channelCount - 1) {
                let corners = [(0, 0), (1, 0), (1, 1), (0, 1)].map { (dc, df) in
                    (Double(channel + dc) + 0.5, Double(frequency + df) + 0.5, value(channel + dc, frequency + df))
                }
                guard corners.allSatisfy({ $0.2.isFinite }) else { continue }
                // Normal of the quad in a unit box, for simple Lambert shading.
                let zs = corners.map { ($0.2 - range.lower) / range.span }
                let dzdc = ((zs[1] - zs[0]) + (zs[2] - zs[3])) / 2 * Double(channelCount - 1)
                let dzdf = ((zs[3] - zs[0]) + (zs[2] - zs[1])) / 2 * Double(frequencyCount - 1)
                let length = (dzdc * dzdc + dzdf * dzdf + 1).squareRoot()
                let light = (-dzdc * -0.5 + -dzdf * 0.3 + 1 * 0.81) / (length * 1.0)
                let mean = corners.map(\.2).reduce(0, +) / 4
                let color = colorFor(mean).shaded(0.55 + 0.45 * max(0, min(1, light)))
                let points = corners.map { p.point(channel: $0.0, frequency: $0.1, magnitude: $0.2) }
                canvas.fillPolygon(points, color: color)
                canvas.drawPolyline(points + [points[0]], width: 0.6 * style.scale, color: color.shaded(0.7))
            }
        }
    }

    /// Tick labels on all three axes, axis titles and the title.
    private func drawAxisLabels(on canvas: inout Canvas, projection p: ObliqueProjection, style: FigureStyle) {
        let pad = style.pad, font = style.tickFont
        let c = Double(max(channelCount, 1)), f = Double(max(frequencyCount, 1))
        let lo = p.zRange.lower
        let tickText = style.textHeight(fontPixel: font)

        // Magnitude: on the front-left vertical edge.
        for tick in NiceTicks.ticks(in: p.zRange, count: 5) {
            let at = p.point(channel: 0, frequency: 0, magnitude: tick.value)
            canvas.drawLine(from: at, to: Point(x: at.x - style.tickLength, y: at.y), width: style.axisWidth, color: .ink)
            canvas.drawText(tick.label, at: Point(x: at.x - style.tickLength - pad, y: at.y), pixelSize: font, anchor: .right)
        }
        // Channel: under the front edge, at bar centres.
        let widest = style.textWidth(String(max(0, channelCount - 1)), fontPixel: font)
        let channelEvery = NiceTicks.indexStride(cellSize: p.channelStep, labelSize: widest + pad * 2)
        for channel in stride(from: 0, to: channelCount, by: channelEvery) {
            let at = p.point(channel: Double(channel) + 0.5, frequency: 0, magnitude: lo)
            canvas.drawLine(from: at, to: Point(x: at.x, y: at.y + style.tickLength), width: style.axisWidth, color: .ink)
            canvas.drawText(String(channel), at: Point(x: at.x, y: at.y + style.tickLength + pad), pixelSize: font, anchor: .top)
        }
        // Frequency: beside the receding right edge of the floor.
        let frequencyEvery = NiceTicks.indexStride(cellSize: p.depthStep.y, labelSize: tickText + pad)
        for frequency in stride(from: 0, to: frequencyCount, by: frequencyEvery) {
            let at = p.point(channel: c, frequency: Double(frequency) + 0.5, magnitude: lo)
            canvas.drawLine(from: at, to: Point(x: at.x + style.tickLength, y: at.y), width: style.axisWidth, color: .ink)
            canvas.drawText(String(frequency), at: Point(x: at.x + style.tickLength + pad, y: at.y), pixelSize: font, anchor: .left)
        }

        let frontY = p.origin.y + style.tickLength + pad + tickText + pad * 3
        if !xLabel.isEmpty {
            let mid = p.point(channel: c / 2, frequency: 0, magnitude: lo)
            canvas.drawText(xLabel, at: Point(x: mid.x, y: frontY), pixelSize: style.labelFont, anchor: .top)
        }
        if !yLabel.isEmpty {
            // Under the receding edge, right-aligned with the floor's back corner.
            let corner = p.point(channel: c, frequency: f, magnitude: lo)
            canvas.drawText(yLabel, at: Point(x: corner.x, y: frontY), pixelSize: style.labelFont, anchor: .topRight)
        }
        if !zLabel.isEmpty {
            let mid = p.point(channel: 0, frequency: 0, magnitude: (p.zRange.lower + p.zRange.upper) / 2)
            canvas.drawText(zLabel, at: Point(x: pad * 3, y: mid.y), pixelSize: style.labelFont, anchor: .left, vertical: true)
        }
        canvas.drawTitle(title, centeredAt: Double(canvas.width) / 2, style: style)
    }
}
