import Datasets
import Foundation
import Training
import Models
import Plot
import Store
import Tensor

/// Figures 2 and 5: per-channel DCT magnitude of a teacher's last-stage features,
/// averaged over test samples after taking absolute values (the paper's procedure).
/// The DCT is the orthonormal 2-D DCT-II, so energies are comparable across
/// frequencies (Parseval); the authors' code uses the unnormalised one.
public struct Spectrum: Codable {
    public var teacher: String
    public var samples: Int
    public var grid: Int
    /// Mean |DCT| per [channel][frequency], frequency index u * grid + v.
    public var magnitude: [[Double]]
    /// Share of the total energy (sum of squares over samples, channels, frequencies) at (0,0).
    public var directEnergyShare: Double
    /// Share of channels whose largest mean |coefficient| is the direct one.
    public var channelsDominatedByDirect: Double

    /// Runs the teacher over the first `samples` test images in order, dumping the features.
    public static func measure(teacherName: String, teacher: TeacherModel, data: ImageDataset, samples: Int = 1600,
                               dumpPath: String?) throws -> Spectrum {
        let n = min(samples, data.count), batch = 200
        let plan = EpochPlan(dataset: data, batchSize: batch, epoch: 0, seed: 0, augmentation: .none, shuffle: false, dropLast: false)
        var sumAbs: [Double] = [], energy: [Double] = []
        var c = 0, h = 0, w = 0, seen = 0
        var dumped: [Float] = [], indices: [Int] = []
        for step in 0..<plan.stepCount where seen < n {
            let b = plan.batch(at: step)
            let take = min(b.count, n - seen)
            let x = Tensor(shape: [b.count, 1, data.size, data.size], values: b.images)
            let f = withoutGrad { teacher.stageFeatures(x).stages[3] }
            (c, h, w) = (f.shape[1], f.shape[2], f.shape[3])
            if sumAbs.isEmpty { sumAbs = .init(repeating: 0, count: c * h * w); energy = .init(repeating: 0, count: c * h * w) }
            let d = withoutGrad { f.dct2d(method: .fftw) }
            let p = d.pointer, per = c * h * w
            for i in 0..<take { for j in 0..<per { let v = Double(p[i * per + j]); sumAbs[j] += abs(v); energy[j] += v * v } }
            if dumpPath != nil { dumped += Array(f.values.prefix(take * per)); indices += Array(b.indices.prefix(take)) }
            seen += take
        }
        if let dumpPath {
            try FeatureDump.write(to: dumpPath, indices: indices, stages: ["stage4": NamedArray(shape: [seen, c, h, w], values: dumped)],
                                  attributes: ["teacher": teacherName, "split": data.name])
        }
        let hw = h * w
        let magnitude = (0..<c).map { ch in (0..<hw).map { sumAbs[ch * hw + $0] / Double(seen) } }
        let total = energy.reduce(0, +), direct = (0..<c).map { energy[$0 * hw] }.reduce(0, +)
        let dominated = magnitude.filter { row in row[0] >= (row.max() ?? 0) }.count
        return Spectrum(teacher: teacherName, samples: seen, grid: h, magnitude: magnitude,
                        directEnergyShare: direct / max(total, 1e-30), channelsDominatedByDirect: Double(dominated) / Double(max(c, 1)))
    }

    /// The 3-D bar view of the first `channels` channels.
    public func figure(title: String, channels: Int = 24) -> BarSurface3D {
        BarSurface3D(title: title, xLabel: "channel", yLabel: "frequency (u*\(grid)+v)", zLabel: "mean |DCT|",
                     values: Array(magnitude.prefix(channels)))
    }

    public func save(to path: String) throws {
        let f = try HDF5File.create(path + ".tmp")
        let root = try f.root()
        try root.write("magnitude", shape: [magnitude.count, grid * grid], values: magnitude.flatMap { $0.map(Float.init) })
        try root.setAttribute("teacher", string: teacher)
        try root.setAttribute("samples", values: [Int64(samples)])
        try root.setAttribute("direct_energy_share", values: [directEnergyShare])
        try root.setAttribute("channels_dominated_by_direct", values: [channelsDominatedByDirect])
        try f.close()
        if rename(path + ".tmp", path) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    public static func load(from path: String) throws -> Spectrum {
        let f = try HDF5File.open(path)
        defer { try? f.close() }
        let root = try f.root()
        let (shape, values) = try root.read("magnitude", as: Float.self)
        let hw = shape[1]
        return Spectrum(teacher: try root.stringAttribute("teacher"), samples: try root.intAttribute("samples"),
                        grid: Int(Double(hw).squareRoot()),
                        magnitude: (0..<shape[0]).map { c in (0..<hw).map { Double(values[c * hw + $0]) } },
                        directEnergyShare: try root.doubleAttribute("direct_energy_share"),
                        channelsDominatedByDirect: try root.doubleAttribute("channels_dominated_by_direct"))
    }
}
