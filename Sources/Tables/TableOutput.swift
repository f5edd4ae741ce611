import DenseTransfer
import Foundation
import Training
import Models
import Store

/// Writes tables/out/tableNN.md (paper | ours per cell, and their gap at paper scale;
/// claims), tableNN.json (everything, for REPORT.md) and tableNN.h5 (per-run results and
/// training curves).
public struct TableOutput {
    public let spec: TableSpec
    public let result: TableResult
    public let directory: String
    /// The teachers manifest as the runner read it (once, throwing on a malformed file).
    public let teacherRecords: [TeacherRecord]
    /// The run cache the table's runs live in (their logs go into the HDF5 output).
    public var runs: RunCache

    public init(spec: TableSpec, result: TableResult, directory: String, teacherRecords: [TeacherRecord], runs: RunCache = RunCache()) {
        self.spec = spec
        self.result = result
        self.directory = directory
        self.teacherRecords = teacherRecords
        self.runs = runs
    }

    /// A gap (ours - paper) means something only when both are measured on the same data:
    /// at the small and ci scales ours is a Fashion-MNIST analog of an ImageNet number.
    var showsGap: Bool { result.scale == .paper }

    public var stem: String { String(format: "table%02d", spec.table) }

    public func write() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicWrite.write(Data(markdown().utf8), to: "\(directory)/\(stem).md")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(try enc.encode(result), to: "\(directory)/\(stem).json")
        try writeHDF5()
        try TableFigures(spec: spec, result: result, directory: directory, stem: stem).write()
    }

    public func markdown() -> String {
        var lines: [String] = []
        let scaleNote = result.scale == .paper
            ? "Scale: paper: the paper's presets on ImageNet in the folder layout, top-1 on val/; each run as configured below (a smoke run's shorter schedule, smaller batch or per-class limit included)."
            : "Scale: \(result.scale). A small-scale analog on Fashion-MNIST with mini models (docs/analog.md), not the paper's ImageNet number; compare directions and gaps, not values."
        if spec.unrecovered == nil { lines.append("> \(scaleNote)"); lines.append("") }
        lines.append("# Table \(spec.table): \(spec.title)")
        lines.append("")
        if let c = spec.caption { lines.append("Paper caption: *\(c)*"); lines.append("") }
        if let why = spec.unrecovered {
            lines.append("**Content not recovered.** \(why)")
            lines.append("")
        }
        if spec.columns.contains(where: \.kind.isCost) {
            // Cost cells depend on the machine and its load: say which machine.
            let env = result.environment
            lines.append("Measured on this machine: CPU \(env["cpu"] ?? "?"), \(env["loop threads"] ?? "?") threads, BLAS kernel \(env["blas kernel"] ?? "?"). Each configuration timed in a child process of its own (its peak RSS is its own).")
            lines.append("")
        }
        let ours = spec.columns.contains { $0.kind == .run }
            ? "Ours: top-1 (%) of the last epoch on the test split, mean ± std over \(result.seeds) seed(s)."
            : spec.columns.contains(where: \.kind.isCost) ? "Ours: one measurement per configuration (seconds are medians of the timed steps)." : ""
        lines.append("Paper numbers: \(spec.source). \(ours)")
        lines.append("")
        if spec.columns.contains(where: { $0.kind == .dense }) {
            lines.append("Dense columns: box and mask AP (COCO's, IoU 0.50:0.95, in %) and mIoU (mmseg's, in %) of heads trained on garment canvases over each run's backbone, measured on canvases of the test split (see Dense transfers below).")
            lines.append("")
        }
        if let planned = spec.plan[result.scale.rawValue]?.seeds, result.seeds < planned {
            lines.append("**Fewer seeds than planned: \(result.seeds) of \(planned)** (`SEEDS=\(result.seeds)`). Differences are not tested; the claims below are at most indicative.")
            lines.append("")
        }
        let compact = compactGrid()
        if !compact.isEmpty {
            lines.append("Ours at a glance (mean ± std over the seeds; the paper's value beside ours only where the paper gives one):")
            lines.append("")
            lines += compact
            lines.append("")
            lines.append("## Paper beside ours, every column")
            lines.append("")
        }
        if !spec.columns.isEmpty {
            lines += grid(spec.columns.filter { $0.detail != true })
            lines.append("")
        }
        let detail = spec.columns.filter { $0.detail == true }
        if !detail.isEmpty {
            lines.append("## Detail")
            lines.append("")
            lines += grid(spec.columns.filter { $0.kind == .label } + detail)
            lines.append("")
        }
        if let dense = result.dense {
            // Each transfer's losses and validation numbers, and any head that collapsed.
            lines.append("## Dense transfers")
            lines.append("")
            if let s = spec.dense?[result.scale.rawValue] {
                lines.append("Settings: " + DenseSettings.settingNames.map { "\($0.replacingOccurrences(of: "_", with: " ")): \(s.setting($0))" }.joined(separator: "; ") + ".")
                lines.append("")
            }
            for line in dense { lines.append("- \(line)") }
            lines.append("")
        }
        lines += claimLines()
        lines += tailLines()
        return lines.joined(separator: "\n") + "\n"
    }

    func claimLines() -> [String] {
        var lines: [String] = []
        if !result.claims.isEmpty {
            lines.append("## The paper's claims")
            lines.append("")
            lines.append("Rule: a one-sided paired t-test over seeds, Holm-corrected across a claim's comparisons, at level 0.05: **held** when it rejects \"no difference\" in the claimed direction, **not held** when the reverse test rejects it (the data contradict the claim), **inconclusive** otherwise; with one seed no test is possible and the direction is reported as **indicative**.")
            lines.append("")
            for c in result.claims { lines.append("- **\(c.verdict.rawValue)**: \(c.statement) — \(c.evidence)") }
            lines.append("")
        }
        return lines
    }

    func tailLines() -> [String] {
        var lines: [String] = []
        if let pending = result.pending, !pending.isEmpty {
            lines.append("**Not run yet** (\(pending.count) runs; their cells are empty and claims over them not testable):")
            lines.append("")
            for p in pending { lines.append("- \(p)") }
            lines.append("")
        }
        if let omitted = result.omitted, !omitted.isEmpty {
            lines.append("**Not run at \(result.scale) scale** (their cells are empty and claims over them not testable):")
            lines.append("")
            for o in omitted { lines.append("- \(o)") }
            lines.append("")
        }
        lines += TableFigures(spec: spec, result: result, directory: directory, stem: stem).markdown()
        for n in spec.notes ?? [] { lines.append("Note: \(n)"); lines.append("") }
        if let configured = result.configured {
            // What each run trained with, resolved: recipes (tables/student-recipes.yaml) and the
            // ScaleKD settings per teacher (tables/teacher-settings.yaml), so no setting is hidden.
            lines.append("## Runs as configured (seed 0)")
            lines.append("")
            lines.append("| row | column | configuration |")
            lines.append("|---|---|---|")
            for row in spec.rows {
                for (column, text) in (configured[row.id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    lines.append("| \(row.id) | \(column) | \(text) |")
                }
            }
            lines.append("")
        }
        if spec.unrecovered != nil { return lines }  // nothing ran: no runs, no times
        lines.append("Runs (runs/<key>/): " + result.runKeys.sorted { $0.key < $1.key }.map { row, cols in
            "\(row): " + cols.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.joined(separator: ","))" }.joined(separator: "; ")
        }.joined(separator: " | "))
        lines.append("")
        var time = "Wall time of this invocation: \(formatDuration(result.wallSeconds))"
        if let t = result.runSeconds {
            time += "; training time of the table's \(Set(result.runKeys.values.flatMap { $0.values.flatMap { $0 } }).count) runs, summed as each run recorded it: \(formatDuration(t))"
        }
        lines.append(time + "; BLAS kernel \(result.environment["blas kernel"] ?? "?").")
        return lines
    }

    /// The table that opens the markdown: the labels and our trained cells (run and derived
    /// columns), with the paper's column only where some row has a paper value. Empty for a
    /// table without trained cells.
    func compactGrid() -> [String] {
        let labels = spec.columns.filter { $0.kind == .label }
        let measured = spec.columns.filter { $0.kind == .run || $0.kind == .derived }
        guard !measured.isEmpty, spec.unrecovered == nil else { return [] }
        var header = labels.map(\.header), align = labels.map { _ in "---" }
        var cellsOf: [(RowSpec) -> String] = labels.map { c in { $0.labels?[c.id] ?? $0.models[c.id] ?? "" } }
        for c in measured {
            if spec.rows.contains(where: { $0.paper?[c.id] != nil }) {
                header.append("\(c.header) (paper)"); align.append("---:")
                cellsOf.append { CellFormat.number($0.paper?[c.id]) }
            }
            header.append(c.header); align.append("---:")
            cellsOf.append { CellFormat.ours(result.cells[$0.id]?[c.id]) }
        }
        return ["| " + header.joined(separator: " | ") + " |", "|" + align.joined(separator: "|") + "|"]
            + spec.rows.map { row in "| " + cellsOf.map { $0(row) }.joined(separator: " | ") + " |" }
    }

    /// The markdown table of `columns` over every row (paper | ours, and their gap at paper scale).
    func grid(_ columns: [ColumnSpec]) -> [String] {
        var header: [String] = [], align: [String] = []
        for c in columns {
            switch c.kind {
            case .label, .strategy, .denseSetting: header.append(c.header); align.append("---")
            case .paper: header.append("\(c.header) (paper)"); align.append("---:")
            case .run, .derived, .dense, .params, .flops, .viewed, .teacherTop1, .step, .peakMemory, .epochSeconds:
                header += ["\(c.header) (paper)", "\(c.header) (ours)"]; align += ["---:", "---:"]
                if showsGap && (c.kind == .run || c.kind == .derived || c.kind == .dense) { header.append("gap"); align.append("---:") }
            }
        }
        var lines: [String] = []
        lines.append("| " + header.joined(separator: " | ") + " |")
        lines.append("|" + align.joined(separator: "|") + "|")
        for row in spec.rows {
            var cells: [String] = []
            for c in columns {
                let paper = row.paper?[c.id]
                switch c.kind {
                case .label:
                    cells.append(row.labels?[c.id] ?? row.models(at: result.scale)[c.id] ?? "")
                case .paper:
                    cells.append(CellFormat.number(paper))
                case .strategy:
                    let plan = spec.plan[result.scale.rawValue]
                    cells.append(TrainingStrategy.named(c.role ?? "").map { $0.setting(row.id, plan: plan) } ?? "")
                case .denseSetting:
                    cells.append(denseSetting(row.id, table: c.role ?? ""))
                case .run, .derived, .dense:
                    let ours = result.cells[row.id]?[c.id]
                    cells.append(CellFormat.number(paper))
                    cells.append(CellFormat.ours(ours))
                    if showsGap {
                        if let p = paper, let o = ours, !o.values.isEmpty { cells.append(String(format: "%+.2f", o.mean - p)) } else { cells.append("") }
                    }
                case .params, .flops:
                    let cost = CellFormat.modelCost(row.models(at: result.scale)[c.role ?? "student"])
                    cells.append(CellFormat.number(paper))
                    cells.append(cost.map { c.kind == .params ? String(format: "%.3f M", $0.0) : String(format: "%.4f G", $0.1) } ?? "")
                case .viewed:
                    // The paper's column is in millions; ours is a sample count. No gap: the scales
                    // differ by design, compare ratios.
                    cells.append(paper.map { String(format: "%g M", $0) } ?? "unknown")
                    cells.append(result.cells[row.id]?[c.id].map { CellFormat.count($0.mean) } ?? "")
                case .step, .peakMemory, .epochSeconds:
                    cells.append(CellFormat.number(paper))
                    cells.append(result.cells[row.id]?[c.id].map { CellFormat.cost($0.mean, kind: c.kind) } ?? "not measured")
                case .teacherTop1:
                    let name = row.models(at: result.scale)[c.role ?? "teacher"]
                    let rec = teacherRecords.first { $0.name == name }
                    cells.append(CellFormat.number(paper))
                    // Paper teachers are measured on val/ by the runner (a cell); the mini ones come from their records.
                    let missing = [Scale.ci: "ci teacher", .small: "not built", .paper: "not measured"][result.scale]!
                    let measured = result.cells[row.id]?[c.id]?.values.first ?? rec?.top1
                    cells.append(measured.map { String(format: "%.2f", $0) } ?? missing)
                }
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines
    }

    /// Table 11's cells: a dense setting of another table's spec at this scale.
    func denseSetting(_ name: String, table: String) -> String {
        guard let other = try? TableSpec.load(table: table) else { return "no spec \(table)" }
        guard let s = other.dense?[result.scale.rawValue] else { return "none at \(result.scale) scale" }
        return s.setting(name)
    }

    /// Per-run results and loss curves (from each run's log.jsonl).
    func writeHDF5() throws {
        let path = "\(directory)/\(stem).h5", tmp = path + ".tmp-\(getpid())"
        do {
            let file = try HDF5File.create(tmp)
            let root = try file.root()
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            for (row, cols) in result.runKeys {
                for (col, keys) in cols {
                    for (seed, key) in keys.enumerated() {
                        let g = try root.createGroup("\(row)__\(col)__seed\(seed)")
                        let dir = "\(runs.root)/\(key)"
                        let recorded = runs.store.flatMap { RunRecord.load(from: "\($0)/\(key).json") }
                        if let cfg = (try? String(contentsOfFile: dir + "/config.json", encoding: .utf8))
                            ?? recorded.map({ $0.config.canonicalJSON }) { try g.setAttribute("config", string: cfg) }
                        if let res = (try? String(contentsOfFile: dir + "/result.json", encoding: .utf8))
                            ?? recorded.flatMap({ try? String(decoding: enc.encode($0.result), as: UTF8.self) }) { try g.setAttribute("result", string: res) }
                        var steps: [Float] = [], totals: [Float] = []
                        if let log = try? String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8) {
                            for line in log.split(separator: "\n") {
                                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
                                      let s = obj["step"] else { continue }
                                steps.append(Float(s))
                                totals.append(Float(obj.filter { !["step", "epoch", "lr", "images_per_s", "grad_norm"].contains($0.key) }.values.reduce(0, +)))
                            }
                        }
                        try g.write("step", shape: [steps.count], values: steps)
                        try g.write("loss", shape: [totals.count], values: totals)
                    }
                }
            }
            try file.close()
            if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
    }
}
