import Foundation
import Plot
import Training

/// `scalekd plot`: redraws a figure from the data it was drawn from, without retraining.
public enum FigureRedraw {
    /// Redraws what `data` holds: a table result (tables/out/tableNN.json: the line figures
    /// its spec declares, Figure 4), a distance scatter (tableNN-<figure>.h5, Figure 6) or a
    /// teacher's spectrum (figure05-<teacher>.h5, Figures 2 and 5). Returns the PNGs written;
    /// `output` replaces the default path beside the data.
    public static func redraw(_ data: String, output: String?, scale: Int, channels: Int) throws -> [String] {
        guard FileManager.default.fileExists(atPath: data) else {
            throw InputError("no figure data at \(data): run the table or `make figures` first")
        }
        if data.hasSuffix(".json") {
            let result = try RegressionCheck.load(data)
            let spec = try TableSpec.load(table: "\(result.table)")
            let url = URL(fileURLWithPath: data)
            let figures = TableFigures(spec: spec, result: result, directory: url.deletingLastPathComponent().path,
                                       stem: url.deletingPathExtension().lastPathComponent)
            var written: [String] = []
            for figure in spec.figures ?? [] {
                guard let plot = figures.plot(figure) else { continue }
                let path = output ?? "\(figures.directory)/\(figures.fileName(figure))"
                try plot.writePNG(to: URL(fileURLWithPath: path), scale: scale)
                written.append(path)
            }
            return written
        }
        let out = output ?? (data.hasSuffix(".h5") ? String(data.dropLast(3)) + ".png" : data + ".png")
        if DistanceScatter.isDistanceScatter(data) {
            try DistanceScatter.load(from: data).plot().writePNG(to: URL(fileURLWithPath: out), scale: scale)
        } else {
            let s = try Spectrum.load(from: data)
            try s.figure(title: "\(s.teacher) last-stage |DCT|", channels: channels).writePNG(to: URL(fileURLWithPath: out), scale: scale)
        }
        return [out]
    }
}
