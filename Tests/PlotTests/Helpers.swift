import Foundation
@testable import Plot

/// A small deterministic generator (SplitMix64), so sample data never changes.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A standard normal sample (Box-Muller).
    mutating func normal() -> Double {
        let u1 = max(Double.leastNonzeroMagnitude, Double(next() >> 11) / Double(1 << 53))
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// A fresh empty directory for one test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("PlotTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `canvas` as a PNG, decodes it again with libpng and returns the decoded image.
func roundTrip(_ canvas: Canvas, name: String = "figure.png") throws -> Canvas {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent(name)
    try canvas.writePNG(to: url)
    return try PNGReader.read(from: url)
}

/// How many pixels inside `rect` differ from `background`.
func inkCount(in canvas: Canvas, rect: Rect, background: Color = .white) -> Int {
    var count = 0
    let x0 = max(0, Int(rect.minX)), x1 = min(canvas.width, Int(rect.maxX.rounded(.up)))
    let y0 = max(0, Int(rect.minY)), y1 = min(canvas.height, Int(rect.maxY.rounded(.up)))
    for y in y0..<max(y0, y1) {
        for x in x0..<max(x0, x1) where canvas[x, y] != background { count += 1 }
    }
    return count
}

/// The pixel containing point `p`.
func pixel(_ canvas: Canvas, at p: Point) -> Color {
    canvas[Int(p.x), Int(p.y)]
}

/// Sample figures, shared by the tests and by the sample writer.
enum Samples {
    static var line: LinePlot {
        let betas = [0.25, 0.5, 1, 1.5, 2, 3, 4]
        func curve(peak: Double, at best: Double, width: Double) -> [Double] {
            betas.map { peak - width * pow(log2($0 / best), 2) }
        }
        return LinePlot(
            title: "Top-1 accuracy vs loss weight β",
            xLabel: "β (feature loss weight)", yLabel: "top-1 accuracy (%)",
            series: [
                LineSeries(name: "ResNet-50 student", x: betas, y: curve(peak: 84.1, at: 1, width: 0.9),
                           yError: [0.4, 0.3, 0.25, 0.3, 0.35, 0.5, 0.6]),
                LineSeries(name: "MobileNet-V1 student", x: betas, y: curve(peak: 80.3, at: 1.5, width: 1.2),
                           yError: [0.5, 0.4, 0.3, 0.3, 0.4, 0.5, 0.7]),
                LineSeries(name: "baseline (no KD)", x: [0.25, 4], y: [79.0, 79.0], marker: Marker.none),
            ])
    }

    static var scatter: ScatterPlot {
        var rng = SeededGenerator(seed: 7)
        let centres = [(-2.0, 1.0), (1.5, 2.0), (0.5, -1.5)]
        let names = ["teacher features", "student (baseline)", "student (ScaleKD)"]
        let series = zip(centres, names).map { centre, name -> ScatterSeries in
            var xs: [Double] = [], ys: [Double] = []
            for _ in 0..<60 {
                xs.append(centre.0 + 0.7 * rng.normal())
                ys.append(centre.1 + 0.6 * rng.normal())
            }
            return ScatterSeries(name: name, x: xs, y: ys)
        }
        return ScatterPlot(title: "Penultimate features (2-D projection)", xLabel: "component 1",
                           yLabel: "component 2", series: series)
    }

    static var heatmap: Heatmap {
        let betas = ["0.25", "0.5", "1", "2", "4"]
        let temperatures = ["1", "2", "4", "8"]
        let values = temperatures.indices.map { t in
            betas.indices.map { b in
                83.5 - 0.35 * pow(Double(b) - 2.2, 2) - 0.5 * pow(Double(t) - 1.3, 2)
            }
        }
        return Heatmap(title: "Top-1 (%) over β and temperature", xLabel: "β", yLabel: "temperature",
                       colorBarLabel: "top-1 (%)", values: values, rowLabels: temperatures,
                       columnLabels: betas, showsValues: true)
    }

    /// Per-channel DCT magnitude with energy concentrated at low frequency,
    /// like the teacher features in the paper's Figure 2.
    static var dct: BarSurface3D {
        var rng = SeededGenerator(seed: 3)
        let values = (0..<24).map { channel -> [Double] in
            let amplitude = 1 + 0.6 * sin(Double(channel) * 0.7) + 0.3 * rng.normal()
            return (0..<12).map { frequency in
                max(0, amplitude * 8 * exp(-Double(frequency) / 1.6) + 0.4 + 0.15 * abs(rng.normal()))
            }
        }
        return BarSurface3D(title: "Per-channel DCT magnitude (stage-4 features)", values: values)
    }
}
