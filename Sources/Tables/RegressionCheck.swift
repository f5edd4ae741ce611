import Foundation
import Training

/// CI regression: a table's fresh ci-scale result against the committed one in
/// tables/expected/. Trained cells (top-1) must agree within `tolerance` points; counted
/// cells (params, FLOPs, viewed samples) exactly; derived cells follow from those and are
/// not compared twice. Same code, BLAS kernel and thread count reproduce a run bit for bit,
/// so on the CI machine a mismatch means the results changed. The tolerance absorbs small
/// rounding differences in the stable cells; it cannot absorb those of the distillation runs
/// with TPP, which at ci scale (3 epochs on 300 images) move by up to ~10 points with any
/// change of summation order (their spread over seeds is as large): an intended numerical
/// change of the engine is committed with regenerated expectations (`make ci-expected`).
/// Cost cells (step time, peak memory, seconds per epoch: Table 15) depend on the machine and
/// its load, so only their presence is checked: every cost cell the expected result has must
/// be measured, finite and positive.
public struct RegressionCheck {
    public static let defaultTolerance = 5.0

    public let spec: TableSpec
    public let tolerance: Double

    public init(spec: TableSpec, tolerance: Double = RegressionCheck.defaultTolerance) {
        self.spec = spec
        self.tolerance = tolerance
    }

    public static func load(_ path: String) throws -> TableResult {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegressionError.missing(path)
        }
        do { return try JSONDecoder().decode(TableResult.self, from: data) } catch {
            throw RegressionError.unreadable(path, "\(error)")
        }
    }

    /// Every disagreement, one line each (empty: the result matches).
    public func mismatches(actual: TableResult, expected: TableResult) -> [String] {
        var out: [String] = []
        if actual.scale != expected.scale { out.append("scale \(actual.scale) vs expected \(expected.scale)") }
        for row in spec.rows {
            for column in spec.columns {
                let limit: Double
                switch column.kind {
                case .run, .dense: limit = tolerance
                case .params, .flops, .viewed: limit = 0  // counts: exact
                case .step, .peakMemory, .epochSeconds: limit = .infinity  // measured: present and positive
                default: continue
                }
                let e = expected.cells[row.id]?[column.id], a = actual.cells[row.id]?[column.id]
                guard let e, !e.values.isEmpty else {
                    // A cell the expectations lack (a new row or column) would otherwise go unchecked forever.
                    if let a, !a.values.isEmpty {
                        out.append("\(row.id).\(column.id): \(format(a.mean)) has no expected value (new row or column: regenerate with make ci-expected)")
                    }
                    continue
                }
                guard let a, !a.values.isEmpty else {
                    out.append("\(row.id).\(column.id): no result (expected \(format(e.mean)))")
                    continue
                }
                if column.kind.isCost {
                    if let bad = a.values.first(where: { !($0.isFinite && $0 > 0) }) {
                        out.append("\(row.id).\(column.id): measured \(format(bad)), not a positive cost")
                    }
                    continue
                }
                let diff = a.mean - e.mean
                if !diff.isFinite || abs(diff) > limit + 1e-9 * max(1, abs(e.mean)) {
                    out.append("\(row.id).\(column.id): \(format(a.mean)) vs expected \(format(e.mean)) (limit ±\(format(limit)))")
                }
            }
        }
        return out
    }

    func format(_ x: Double) -> String { String(format: "%.2f", x) }
}

public enum RegressionError: Error, CustomStringConvertible {
    case missing(String)
    case unreadable(String, String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p) does not exist: run the table at ci scale first (make ci-tables)"
        case .unreadable(let p, let why): return "\(p) is not a table result (\(why)); regenerate it with make ci-expected"
        }
    }
}
