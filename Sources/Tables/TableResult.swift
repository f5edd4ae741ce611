import Foundation
import Models
import Training

/// Everything a table run produced, kept as JSON beside the markdown.
public struct TableResult: Codable {
    public var table: Int
    public var title: String
    public var scale: Scale
    public var seeds: Int
    public var cells: [String: [String: CellValues]]
    public var runKeys: [String: [String: [String]]]
    public var claims: [ClaimResult]
    public var wallSeconds: Double
    public var environment: [String: String]
    /// Runs that could not start (a teacher not pre-trained yet), one line each; their
    /// cells stay empty and claims over them are not testable.
    public var pending: [String]? = nil
    /// Sum of the training wall times of the table's distinct runs, as recorded by each run
    /// (whatever the machine's load then): what the table costs from an empty run cache,
    /// teachers aside, when this invocation found some runs cached.
    public var runSeconds: Double? = nil
    /// Row -> column -> the seed-0 run as configured (RunConfig.configuredSummary).
    public var configured: [String: [String: String]]? = nil
    /// The code the runs were trained with: each distinct "commit (engine vN)", with the runs' count.
    public var code: [String]? = nil
    /// One line per dense transfer (Tables 5, 6): its key, losses, validation numbers and
    /// whether a head collapsed.
    public var dense: [String]? = nil
    /// The spec's `unrecovered` text: the paper table's content is not known.
    public var unrecovered: String? = nil
    /// What the scale's plan leaves out and why (ScalePlan.omitted), one line each.
    public var omitted: [String]? = nil

    public init(table: Int, title: String, scale: Scale, seeds: Int, cells: [String: [String: CellValues]],
                runKeys: [String: [String: [String]]], claims: [ClaimResult], wallSeconds: Double,
                environment: [String: String], pending: [String]? = nil, runSeconds: Double? = nil) {
        self.table = table; self.title = title; self.scale = scale; self.seeds = seeds; self.cells = cells
        self.runKeys = runKeys; self.claims = claims; self.wallSeconds = wallSeconds
        self.environment = environment; self.pending = pending; self.runSeconds = runSeconds
    }
}

/// How cells and model costs are written in the outputs.
enum CellFormat {
    static func number(_ v: Double?, digits: Int = 2) -> String {
        guard let v, v.isFinite else { return "unknown" }
        return String(format: "%.\(digits)f", v)
    }

    /// A sample count as 950, 30k or 1.26 M.
    static func count(_ v: Double) -> String {
        v >= 1e6 ? String(format: "%.3g M", v / 1e6) : v >= 1e4 ? String(format: "%.0fk", v / 1e3) : String(format: "%.0f", v)
    }

    static func ours(_ c: CellValues?) -> String {
        guard let c, !c.values.isEmpty else { return "not run" }
        return c.values.count > 1 ? String(format: "%.2f ± %.2f", c.mean, c.std) : String(format: "%.2f", c.mean)
    }

    /// A measured cost: seconds per step, peak RSS (MiB) or seconds per epoch.
    static func cost(_ v: Double, kind: ColumnSpec.Kind) -> String {
        switch kind {
        case .peakMemory: return String(format: "%.0f MiB", v)
        case .step: return String(format: "%.3f s", v)
        default: return String(format: "%.1f s", v)
        }
    }

    /// Parameters (M) and MACs (G) of a preset.
    static func modelCost(_ name: String?) -> (Double, Double)? {
        guard let name, let p = Zoo.preset(named: name) else { return nil }
        let (params, macs) = p.cost()
        return (Double(params) / 1e6, Double(macs) / 1e9)
    }
}
