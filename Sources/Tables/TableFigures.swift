import Foundation
import Training
import Plot

/// The figures a table spec declares (`figures:`), drawn from its cells: kind `line` plots
/// a run column's mean ± std (over seeds) against a run option of each row, e.g. top-1
/// against beta for Figure 4. Kind `distance_scatter` (Figure 6) is drawn from the HDF5 data
/// the runner measured on the trained runs (DistanceScatter.swift). Written as
/// tables/out/<stem>-<id>.png beside the markdown.
public struct TableFigures {
    public let spec: TableSpec
    public let result: TableResult
    public let directory: String
    public let stem: String

    public init(spec: TableSpec, result: TableResult, directory: String, stem: String) {
        self.spec = spec
        self.result = result
        self.directory = directory
        self.stem = stem
    }

    /// One point of a line figure: the row, its x (the run option) and its cell.
    public struct Point {
        public var row: String
        public var x: Double
        public var cell: CellValues?
    }

    public func fileName(_ figure: FigureSpec) -> String { "\(stem)-\(figure.id).png" }

    /// The measured data of a distance_scatter figure, if the runner wrote it at this scale.
    public func distanceScatter(_ figure: FigureSpec) -> DistanceScatter? {
        guard figure.kind == FigureSpec.distanceScatter,
              let d = try? DistanceScatter.load(from: "\(directory)/\(stem)-\(figure.id).h5"), d.scale == result.scale.rawValue else { return nil }
        return d
    }

    /// The points of a line figure, sorted by x (rows without a result have a nil cell).
    public func points(_ figure: FigureSpec) -> [Point] {
        guard let column = figure.column, let x = figure.x else { return [] }
        let rowIDs = figure.rows ?? spec.rows.filter { $0.runs?[column] != nil }.map(\.id)
        return rowIDs.compactMap { id -> Point? in
            guard let row = spec.rows.first(where: { $0.id == id }), let v = row.runs?[column]?.options?.value(named: x) else { return nil }
            let cell = result.cells[id]?[column]
            return Point(row: id, x: v, cell: (cell?.values.isEmpty ?? true) ? nil : cell)
        }.sorted { $0.x < $1.x }
    }

    /// The line plot of a figure, or nil when no point has a result.
    public func plot(_ figure: FigureSpec) -> LinePlot? {
        let pts = points(figure).filter { $0.cell != nil }
        guard figure.kind == "line", !pts.isEmpty, let column = figure.column else { return nil }
        let header = spec.columns.first { $0.id == column }?.header ?? column
        let series = LineSeries(name: "\(header) (ours, \(result.scale))", x: pts.map(\.x), y: pts.map { $0.cell!.mean },
                                yError: pts.map { $0.cell!.values.count > 1 ? $0.cell!.std : .nan })
        let xLabel = figure.x == "beta" ? "β" : (figure.x ?? "")
        return LinePlot(title: figure.title, xLabel: xLabel, yLabel: "\(header) (%)", series: [series])
    }

    /// Renders every figure that has data to `directory`.
    public func write() throws {
        for figure in spec.figures ?? [] {
            if let scatter = distanceScatter(figure) {
                try scatter.plot().writePNG(to: URL(fileURLWithPath: "\(directory)/\(fileName(figure))"), scale: 2)
            }
            guard let plot = plot(figure) else { continue }
            try plot.writePNG(to: URL(fileURLWithPath: "\(directory)/\(fileName(figure))"), scale: 2)
        }
    }

    /// Markdown for the figures: the image link and the plotted points as text.
    public func markdown() -> [String] {
        var lines: [String] = []
        for figure in spec.figures ?? [] {
            lines.append("## Figure: \(figure.title)")
            lines.append("")
            if figure.kind == FigureSpec.distanceScatter {
                lines += distanceScatter(figure)?.markdown(fileName: fileName(figure))
                    ?? ["No measurement at this scale yet (rows \(figure.without ?? "?") and \(figure.with ?? "?")).", ""]
                continue
            }
            let pts = points(figure)
            guard plot(figure) != nil else {
                lines.append("No results to plot yet (\(pts.map(\.row).joined(separator: ", "))).")
                lines.append("")
                continue
            }
            lines.append("![\(figure.title)](\(fileName(figure)))")
            lines.append("")
            let x = figure.x ?? "x"
            lines.append("Points (\(x): \(figure.column ?? "")): " + pts.map { p in
                String(format: "%@ %g: %@", x, p.x, CellFormat.ours(p.cell))
            }.joined(separator: "; ") + ".")
            lines.append("")
        }
        return lines
    }
}
