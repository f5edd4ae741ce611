import Foundation
import Plot
import Training

/// The teachers' learning curves (validation top-1 per epoch) from their logs: the
/// finished teacher's log in data/teachers/, or the committed log of one still training
/// (data/teachers/in-progress/<name>/), which is newer while it exists.
public enum TeacherCurves {
    /// Epoch -> validation top-1 of each teacher with a logged curve (the last entry of an
    /// epoch wins: a resumed run logs the epochs it redid again).
    public static func load(store: TeacherStore = TeacherStore()) -> [(name: String, inProgress: Bool, points: [(epoch: Int, top1: Double)])] {
        Scale.small.teachers.compactMap { teacher in
            let candidates = [(store.inProgressDirectory(teacher.name) + "/log.jsonl", true),
                              (store.root + "/data/teachers/\(teacher.name).log.jsonl", false)]
            for (path, inProgress) in candidates {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                var byEpoch: [Int: Double] = [:]
                for line in text.split(separator: "\n") {
                    guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
                          let e = o["epoch"], let v = o["validation_top1"] else { continue }
                    byEpoch[Int(e)] = v
                }
                if byEpoch.isEmpty { continue }
                return (teacher.name, inProgress, byEpoch.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
            return nil
        }
    }

    /// The figure, or nil when no teacher has a curve yet.
    public static func plot(store: TeacherStore = TeacherStore()) -> LinePlot? {
        let curves = load(store: store)
        guard !curves.isEmpty else { return nil }
        let planned = Dictionary(uniqueKeysWithValues: Scale.small.teachers.map { ($0.name, $0.epochs) })
        return LinePlot(title: "Teachers: validation top-1 by epoch", xLabel: "epoch", yLabel: "validation top-1 (%)",
                        series: curves.map { c in
                            LineSeries(name: c.name + (c.inProgress ? " (in progress, \(c.points.last!.epoch)/\(planned[c.name] ?? 0))" : ""),
                                       x: c.points.map { Double($0.epoch) }, y: c.points.map(\.top1))
                        })
    }
}
