import Datasets
import Distill
import Foundation
import Plot
import Store
import Tensor

// Figure 6: teacher-student distances of the alternative (DC-removed) components of the
// last-stage features, for a student distilled without DFM and one with it, projected to 2-D.
//
// The paper gives the procedure only (PAPER-NUMBERS.md, Figure 6); the choices it leaves open:
// - Student "feature" = the last distilled stage's (stage 4) CAP output of the trained
//   distiller: the student in teacher space, which is what the loss compares with the
//   teacher's last-stage tokens. The projectors live only in the run's checkpoint.
// - The spatial-view projector for both runs: a run without DFM has no frequency-view one.
//   The DFM run's frequency-view distances are measured too and reported beside.
// - Distance vector = DC-removed teacher tokens minus DC-removed projected student tokens
//   (each channel's spatial mean removed = the DCT (0,0) coefficient zeroed), each token
//   L2-normalised over channels first, as the losses compare them (they are scale-free, so
//   a projector's output scale is arbitrary), flattened over positions and channels. Its
//   squared norm is the per-sample frequency-view loss term.
// - 2-D projection: PCA (top two components; the paper's method is not found), fitted once
//   on the pooled distances of both runs so both clouds share the axes.
// - Samples: the first `samples` images of the runs' test split; one seeded subset of
//   `points` images is drawn for both runs (the paper draws 6,400 of 64,000, 8 times).

/// Figure 6's measured data: per-sample distances of two runs projected on a shared 2-D PCA,
/// saved as HDF5 so `scalekd plot` can redraw it.
public struct DistanceScatter: Equatable {
    /// One run's distances.
    public struct Group: Equatable {
        /// Legend text.
        public var name: String
        public var runKey: String
        /// PCA coordinates of every sample [n][2].
        public var coordinates: [[Double]]
        /// Distance-vector norm of every sample (spatial-view projector).
        public var norms: [Double]

        public init(name: String, runKey: String, coordinates: [[Double]], norms: [Double]) {
            self.name = name; self.runKey = runKey; self.coordinates = coordinates; self.norms = norms
        }
    }

    public var title: String
    public var scale: String
    public var without: Group
    public var with: Group
    /// Distance norms of the DFM run measured with its frequency-view projector (nil if it has none).
    public var withFrequencyViewNorms: [Double]?
    /// Sample indices drawn in the scatter (the same images for both runs).
    public var plotted: [Int]
    /// PCA coordinates of a zero distance (perfect mimicking), drawn as a reference.
    public var origin: [Double]
    /// Share of the pooled variance on each of the two components.
    public var explainedShare: [Double]
    /// Length of a distance vector (positions x teacher channels).
    public var dimension: Int

    public init(title: String, scale: String, without: Group, with: Group, withFrequencyViewNorms: [Double]?, plotted: [Int],
                origin: [Double], explainedShare: [Double], dimension: Int) {
        self.title = title; self.scale = scale; self.without = without; self.with = with
        self.withFrequencyViewNorms = withFrequencyViewNorms; self.plotted = plotted; self.origin = origin
        self.explainedShare = explainedShare; self.dimension = dimension
    }

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(max(v.count, 1)) }

    /// The paper's reading of Figure 6, DFM's distances are smaller, as a verdict: held when the
    /// mean per-image difference (with - without, the same images) is below zero by more than
    /// two standard errors.
    public func verdict() -> (verdict: ClaimResult.Verdict, evidence: String) {
        let n = min(without.norms.count, with.norms.count)
        guard n > 1 else { return (.notTestable, "fewer than two samples") }
        let diffs = (0..<n).map { with.norms[$0] - without.norms[$0] }
        let m = DistanceScatter.mean(diffs)
        let sd = (diffs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)).squareRoot()
        let se = sd / Double(n).squareRoot()
        let closer = Double(diffs.filter { $0 < 0 }.count) / Double(n)
        let evidence = String(format: "mean distance norm without DFM %.4f, with DFM %.4f; per-image difference %+.4f (standard error %.4f, %d images); with DFM closer on %.0f%% of the images",
                              DistanceScatter.mean(without.norms), DistanceScatter.mean(with.norms), m, se, n, 100 * closer)
        return (m < -2 * se ? .held : .notHeld, evidence)
    }

    /// Blue without DFM and orange with it, as the paper's caption (both Okabe-Ito, so
    /// colour-blind safe), and the zero-distance point in black.
    public func plot() -> ScatterPlot {
        func series(_ g: Group, _ color: Color, _ marker: Marker) -> ScatterSeries {
            let pts = plotted.filter { $0 < g.coordinates.count }.map { g.coordinates[$0] }
            return ScatterSeries(name: g.name, x: pts.map { $0[0] }, y: pts.map { $0[1] }, color: color, marker: marker)
        }
        let share = explainedShare.map { String(format: "%.0f%%", 100 * $0) }
        return ScatterPlot(title: title, xLabel: "PC 1 (\(share.first ?? "?") of variance)",
                           yLabel: "PC 2 (\(share.last ?? "?") of variance)",
                           series: [series(without, Palette.okabeIto[0], .circle), series(with, Palette.okabeIto[3], .triangle),
                                    ScatterSeries(name: "zero distance", x: [origin[0]], y: [origin[1]], color: Palette.okabeIto[7], marker: .diamond)])
    }

    /// The markdown paragraph under the figure.
    public func markdown(fileName: String) -> [String] {
        let (verdict, evidence) = verdict()
        var text = "Paper (caption): the distances of the alternative components between teacher and student are smaller with DFM (orange) than without (blue). "
        text += "Ours: \(without.name) (blue, run \(without.runKey)) vs \(with.name) (orange, run \(with.runKey)); \(plotted.count) of \(without.norms.count) test images drawn. "
        text += "Distance per image = DC-removed teacher stage-4 tokens minus the DC-removed stage-4 spatial-view CAP output of the student (tokens L2-normalised over channels as the losses compare them), \(dimension) values; "
        text += String(format: "2-D by PCA fitted on both runs' distances (%.0f%% + %.0f%% of the variance). ", 100 * explainedShare[0], 100 * explainedShare[1])
        if let f = withFrequencyViewNorms {
            text += String(format: "The DFM run's frequency-view projector, trained on exactly these components, is at a mean norm of %.4f. ", DistanceScatter.mean(f))
        }
        return ["![\(title)](\(fileName))", "", text, "", "- **\(verdict.rawValue)**: DFM's distances are smaller — \(evidence).", ""]
    }

    public func save(to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        do {
            let file = try HDF5File.create(tmp)
            let root = try file.root()
            try root.setAttribute("kind", string: "distance_scatter")
            try root.setAttribute("title", string: title)
            try root.setAttribute("scale", string: scale)
            try root.setAttribute("dimension", int: dimension)
            try root.write("explained_share", shape: [2], values: explainedShare)
            try root.write("origin", shape: [2], values: origin)
            try root.write("plotted", shape: [plotted.count], values: plotted.map(Int64.init))
            for (id, g) in [("without", without), ("with", with)] {
                let group = try root.createGroup(id)
                try group.setAttribute("name", string: g.name)
                try group.setAttribute("run", string: g.runKey)
                try group.write("coordinates", shape: [g.coordinates.count, 2], values: g.coordinates.flatMap { $0 })
                try group.write("norms", shape: [g.norms.count], values: g.norms)
            }
            if let f = withFrequencyViewNorms { try root.openGroup("with").write("frequency_view_norms", shape: [f.count], values: f) }
            try file.close()
            if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
    }

    /// Whether an HDF5 file holds a distance scatter (`scalekd plot` dispatches on it).
    public static func isDistanceScatter(_ path: String) -> Bool {
        guard let f = try? HDF5File.open(path) else { return false }
        defer { try? f.close() }
        return (try? f.root().stringAttribute("kind")) == "distance_scatter"
    }

    public static func load(from path: String) throws -> DistanceScatter {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        let root = try file.root()
        func group(_ id: String) throws -> Group {
            let g = try root.openGroup(id)
            let (shape, xy) = try g.read("coordinates", as: Double.self)
            return Group(name: try g.stringAttribute("name"), runKey: try g.stringAttribute("run"),
                         coordinates: (0..<shape[0]).map { [xy[2 * $0], xy[2 * $0 + 1]] }, norms: try g.read("norms", as: Double.self).values)
        }
        let with = try root.openGroup("with")
        return DistanceScatter(title: try root.stringAttribute("title"), scale: try root.stringAttribute("scale"),
                               without: try group("without"), with: try group("with"),
                               withFrequencyViewNorms: with.contains("frequency_view_norms") ? try with.read("frequency_view_norms", as: Double.self).values : nil,
                               plotted: try root.read("plotted", as: Int64.self).values.map(Int.init),
                               origin: try root.read("origin", as: Double.self).values,
                               explainedShare: try root.read("explained_share", as: Double.self).values,
                               dimension: try root.intAttribute("dimension"))
    }
}

/// Distance vectors of a trained distiller on a dataset (see the file header for the definition).
public enum DistanceMeasurement {
    /// Flattened distance vectors [n, d] of the first `samples` images, for the spatial-view
    /// projector and (when the run has DFM) the frequency-view one.
    public static func measure(_ distiller: Distiller, on data: ImageDataset, samples: Int, batchSize: Int = 100)
        -> (spatial: [Float], frequency: [Float]?, count: Int, dimension: Int) {
        distiller.trainable.setTraining(false)
        defer { distiller.trainable.setTraining(true) }
        let n = min(samples, data.count)
        let plan = EpochPlan(dataset: data, batchSize: batchSize, epoch: 0, seed: 0, augmentation: .none, shuffle: false, dropLast: false)
        var spatial: [Float] = [], frequency: [Float]? = nil, seen = 0, dimension = 0
        for step in 0..<plan.stepCount where seen < n {
            let b = plan.batch(at: step)
            let take = min(b.count, n - seen)
            let x = Tensor(shape: [b.count, 1, data.size, data.size], values: b.images)
            withoutGrad {
                let s = distiller.student.stageFeatures(x), t = distiller.teacher.stageFeatures(x)
                guard let last = distiller.projectedStages(studentStages: s.stages, teacherStages: t.stages).last else { return }
                let d = distance(teacher: last.target, student: last.spatial)
                dimension = d.count / b.count
                spatial += d.values.prefix(take * dimension)
                if let y = last.frequency {
                    frequency = (frequency ?? []) + distance(teacher: last.target, student: y).values.prefix(take * dimension)
                }
            }
            seen += take
        }
        return (spatial, frequency, seen, dimension)
    }

    /// Tokens [N, L, C] -> per-image distance [N, L, C] of the alternative components.
    public static func distance(teacher: Tensor, student: Tensor) -> Tensor {
        FeatureLoss.subtractSpatialMean(teacher).l2Normalized(axis: -1) - FeatureLoss.subtractSpatialMean(student).l2Normalized(axis: -1)
    }

    /// Euclidean norm of each row of x [n, d].
    static func rowNorms(_ x: [Float], count n: Int, dimension d: Int) -> [Double] {
        (0..<n).map { i in (0..<d).reduce(0.0) { $0 + Double(x[i * d + $1]) * Double(x[i * d + $1]) }.squareRoot() }
    }
}

extension DistanceScatter {
    /// One run's distance vectors, as DistanceMeasurement.measure returns them.
    public struct Measured {
        public var name: String
        public var runKey: String
        public var spatial: [Float]
        public var frequency: [Float]?
        public var count: Int
        public var dimension: Int

        public init(name: String, runKey: String, spatial: [Float], frequency: [Float]?, count: Int, dimension: Int) {
            self.name = name; self.runKey = runKey; self.spatial = spatial; self.frequency = frequency
            self.count = count; self.dimension = dimension
        }
    }

    /// The figure's data from the two runs: PCA fitted on their pooled distances, and one
    /// seeded subset of `points` images drawn for both.
    public static func build(title: String, scale: String, without a: Measured, with b: Measured, points: Int) -> DistanceScatter {
        let n = min(a.count, b.count), d = a.dimension
        let pooled = Array(a.spatial.prefix(n * d)) + Array(b.spatial.prefix(n * d))
        let fit = PCA.fit(pooled, rows: 2 * n, columns: d)
        let coordinates = PCA.project(pooled, rows: 2 * n, columns: d, on: fit)
        let origin = PCA.project([Float](repeating: 0, count: d), rows: 1, columns: d, on: fit)[0]
        var rng = RandomGenerator(seed: 6, stream: 0xF16)
        var order = Array(0..<n)
        rng.shuffle(&order)
        let plotted = Array(order.prefix(points)).sorted()
        return DistanceScatter(
            title: title, scale: scale,
            without: .init(name: a.name, runKey: a.runKey, coordinates: Array(coordinates[0..<n]),
                           norms: DistanceMeasurement.rowNorms(a.spatial, count: n, dimension: d)),
            with: .init(name: b.name, runKey: b.runKey, coordinates: Array(coordinates[n..<(2 * n)]),
                        norms: DistanceMeasurement.rowNorms(b.spatial, count: n, dimension: d)),
            withFrequencyViewNorms: b.frequency.map { DistanceMeasurement.rowNorms($0, count: n, dimension: d) },
            plotted: plotted, origin: origin,
            explainedShare: fit.variances.map { $0 / max(fit.totalVariance, 1e-30) }, dimension: d)
    }
}
