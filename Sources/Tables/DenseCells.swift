import DenseTransfer
import Foundation
import Training

/// The `dense` columns of a row: for each backbone run column they name and each seed, the
/// dense transfer of that run's weights (DenseTransfer, cached under runs/dense/), read by
/// metric. A backbone run not trained yet leaves its dense cells empty (it is listed as pending).
enum DenseCells {
    /// `backboneConfig(column, seed)`: the row's run config of that column and seed.
    static func cells(spec: TableSpec, row: RowSpec, scale: Scale, seeds: Int, cache: RunCache, data: DataCatalog,
                      backboneConfig: (String, Int) throws -> RunConfig) throws -> (cells: [String: CellValues], lines: [String]) {
        let columns = spec.columns.filter { $0.kind == .dense }
        guard !columns.isEmpty, let settings = spec.dense?[scale.rawValue] else { return ([:], []) }
        var cells: [String: CellValues] = [:], lines: [String] = []
        for backbone in Set(columns.compactMap(\.role)).sorted() where row.runs?[backbone] != nil {
            for seed in 0..<seeds {
                let config = try backboneConfig(backbone, seed)
                guard cache.result(for: config) != nil else { continue }
                let r: DenseResult
                do {
                    r = try DenseRuns.resultOrRun(backbone: config, settings: settings, seed: seed, root: cache.root, store: cache.store, data: data)
                } catch let error as DenseTransferError where error.missingWeights {
                    // The rest of the table still comes out; the line says what is missing.
                    lines.append("\(row.id).\(backbone) seed \(seed): **not run**: \(error)")
                    continue
                }
                for c in columns where c.role == backbone {
                    if let v = r.test.value(named: c.metric!) { cells[c.id, default: CellValues(values: [])].values.append(v) }
                }
                func f(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "n/a" }
                var line = "\(row.id).\(backbone) seed \(seed), transfer \(r.request.key): stage \(r.stage + 1) (\(r.stageChannels) channels); "
                    + "test box AP \(f(r.test.box[0])), mask AP \(f(r.test.mask[0])), mIoU \(f(r.test.mIoU)); "
                    + "validation box AP \(f(r.validation.box[0])), mIoU \(f(r.validation.mIoU)); "
                    + String(format: "garment pixels predicted %.1f%% (truth %.1f%%), %d confident detections for %d objects; ", 100 * r.test.predictedForeground, 100 * r.test.trueForeground, r.test.confidentDetections, r.test.objects)
                    + "test objects small/medium/large \(r.test.objectsPerBucket.map(String.init).joined(separator: "/")); "
                    + "losses (first -> last epoch) \(r.lossSummary); \(String(format: "%.0f", r.wallSeconds)) s"
                let collapse = r.test.collapse
                if !collapse.isEmpty { line += "; **COLLAPSE: \(collapse.joined(separator: "; "))**" }
                lines.append(line)
            }
        }
        return (cells, lines)
    }
}
