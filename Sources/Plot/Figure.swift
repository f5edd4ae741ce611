// The Plot module draws the suite's figures to PNG without any plotting
// stack outside Swift: figure descriptions are plain Codable values, a
// Canvas is the raster they render to, and libpng writes it.
//
//     let plot = LinePlot(title: "Top-1 vs β", xLabel: "β", yLabel: "top-1 (%)",
//                         series: [LineSeries(name: "ScaleKD", x: betas, y: top1, yError: std)])
//     try plot.render(scale: 2).writePNG(to: url)
//
// Layers: Geometry, Color, Palette -> Canvas, Font, Marker -> Axes, Style,
// CartesianAxes, Legend -> Chart (LinePlot, ScatterPlot), Heatmap, BarSurface3D; PNG.

import Foundation

/// A figure description that can be drawn.
public protocol Figure: Codable, Sendable {
    /// Draws the figure; `scale` multiplies every size (2 for print).
    func render(scale: Int) -> Canvas
}

extension Figure {
    /// Renders at `scale` and writes the PNG to `url` atomically.
    public func writePNG(to url: URL, scale: Int = 1) throws {
        try render(scale: scale).writePNG(to: url)
    }
}

extension Chart: Figure {}
extension Heatmap: Figure {}
extension BarSurface3D: Figure {}
